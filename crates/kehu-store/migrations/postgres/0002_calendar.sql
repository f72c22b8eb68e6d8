-- Official holidays and make-up working days (调休), loaded per year.
CREATE TABLE calendar_days (
    day TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    updated_at BIGINT NOT NULL
);
