-- Version 4 changes PostgreSQL's notification trigger only; SQLite has none. This keeps
-- both backends' schema versions in step (one number means one schema everywhere).
SELECT 1;
