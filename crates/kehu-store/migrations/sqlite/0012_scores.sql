-- Grading, lifecycle, RFM, profitability and value of every customer, as
-- the last recompute left them (one row per live customer).
CREATE TABLE customer_scores (
    customer_id TEXT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    score REAL NOT NULL,
    -- The computed grade; customers.grade is the grade in force.
    grade TEXT NOT NULL,
    tier TEXT NOT NULL,
    lifecycle TEXT NOT NULL,
    -- The class at the end of the previous month (NULL: not scored then).
    prev_lifecycle TEXT,
    rfm TEXT,
    revenue_fen INTEGER NOT NULL,
    cost_fen INTEGER NOT NULL,
    profit_fen INTEGER NOT NULL,
    p_alive REAL,
    expected_purchases REAL,
    clv_fen INTEGER,
    -- JSON: the facts, each dimension's share of the score, the lifecycle rule.
    detail TEXT NOT NULL,
    -- The observation day the scores are as of (business time zone).
    as_of TEXT NOT NULL,
    computed_at INTEGER NOT NULL
);
CREATE INDEX customer_scores_profit ON customer_scores(profit_fen);

-- A grade set by hand wins over the computed one until it is cleared.
ALTER TABLE customers ADD COLUMN grade_override TEXT;
ALTER TABLE customers ADD COLUMN grade_reason TEXT;

-- Lifecycle moves of each month by owner: customers that were in
-- from_class at the end of the previous month ('' for not scored then)
-- and are in to_class now; the current month is rewritten by each recompute.
CREATE TABLE lifecycle_moves (
    month TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    from_class TEXT NOT NULL,
    to_class TEXT NOT NULL,
    customers INTEGER NOT NULL,
    PRIMARY KEY (month, owner_id, team_id, from_class, to_class)
);

-- Each month's sales and cost to serve by owner and team ('' for none),
-- rewritten by each recompute. A buyer is new in the month of their first
-- purchase and a repeat buyer in any later month with a purchase.
CREATE TABLE monthly_stats (
    month TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    orders INTEGER NOT NULL,
    buyers INTEGER NOT NULL,
    new_buyers INTEGER NOT NULL,
    repeat_buyers INTEGER NOT NULL,
    revenue_fen INTEGER NOT NULL,
    discount_fen INTEGER NOT NULL,
    compensation_fen INTEGER NOT NULL,
    tickets INTEGER NOT NULL,
    effort_fen INTEGER NOT NULL,
    PRIMARY KEY (month, owner_id, team_id)
);

-- The recompute reads every order with its discount from this index alone,
-- and every interaction's time and kind from the other.
DROP INDEX orders_customer;
CREATE INDEX orders_customer ON orders(customer_id, ordered_at, amount_fen, discount_fen);
DROP INDEX interactions_customer;
CREATE INDEX interactions_customer ON interactions(customer_id, occurred_at, kind);
