DROP TABLE run_steps;
DROP TABLE runs;
DROP TABLE oauth_states;
DROP TABLE integration_config;
DROP TABLE integrations;
DROP TABLE users;
DROP TABLE organization;
