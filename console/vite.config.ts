// Builds the console into dist/, which is committed and embedded in the
// hookrelay binary (src/api/console.rs). File names are fixed, not hashed,
// so a rebuild from the same sources gives byte-identical output and CI
// can check that dist/ is up to date (`git diff --exit-code console/dist`).
import { defineConfig } from "vite";
import preact from "@preact/preset-vite";

export default defineConfig({
  base: "/console/",
  plugins: [preact()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    cssCodeSplit: false,
    sourcemap: false,
    // One file each: the console is small, and fewer requests under a strict CSP.
    modulePreload: { polyfill: false },
    rollupOptions: {
      output: {
        entryFileNames: "assets/app.js",
        chunkFileNames: "assets/[name].js",
        assetFileNames: (info) =>
          (info.name ?? "").endsWith(".css") ? "assets/app.css" : "assets/[name][extname]",
        inlineDynamicImports: true,
      },
    },
  },
});
