-- Written and emptied by /readyz after a write was refused for lack of
-- space, to tell when the database takes writes again (db/write_health.rs).
CREATE TABLE write_probe (
    id INTEGER PRIMARY KEY,
    filler BLOB NOT NULL
);
