DROP INDEX oauth_states_org;
DROP INDEX runs_org_waiting;
