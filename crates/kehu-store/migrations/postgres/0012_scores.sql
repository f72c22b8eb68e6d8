-- Grading, lifecycle, RFM, profitability and value of every customer, as
-- the last recompute left them (one row per live customer).
CREATE TABLE customer_scores (
    customer_id TEXT PRIMARY KEY REFERENCES customers(id) ON DELETE CASCADE,
    score DOUBLE PRECISION NOT NULL,
    -- The computed grade; customers.grade is the grade in force.
    grade TEXT NOT NULL,
    tier TEXT NOT NULL,
    lifecycle TEXT NOT NULL,
    -- The class at the end of the previous month (NULL: not scored then).
    prev_lifecycle TEXT,
    rfm TEXT,
    revenue_fen BIGINT NOT NULL,
    cost_fen BIGINT NOT NULL,
    profit_fen BIGINT NOT NULL,
    p_alive DOUBLE PRECISION,
    expected_purchases DOUBLE PRECISION,
    clv_fen BIGINT,
    -- JSON: the facts, each dimension's share of the score, the lifecycle rule.
    detail TEXT NOT NULL,
    -- The observation day the scores are as of (business time zone).
    as_of TEXT NOT NULL,
    computed_at BIGINT NOT NULL
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
    customers BIGINT NOT NULL,
    PRIMARY KEY (month, owner_id, team_id, from_class, to_class)
);

-- Each month's sales and cost to serve by owner and team ('' for none),
-- rewritten by each recompute. A buyer is new in the month of their first
-- purchase and a repeat buyer in any later month with a purchase.
CREATE TABLE monthly_stats (
    month TEXT NOT NULL,
    owner_id TEXT NOT NULL,
    team_id TEXT NOT NULL,
    orders BIGINT NOT NULL,
    buyers BIGINT NOT NULL,
    new_buyers BIGINT NOT NULL,
    repeat_buyers BIGINT NOT NULL,
    revenue_fen BIGINT NOT NULL,
    discount_fen BIGINT NOT NULL,
    compensation_fen BIGINT NOT NULL,
    tickets BIGINT NOT NULL,
    effort_fen BIGINT NOT NULL,
    PRIMARY KEY (month, owner_id, team_id)
);

-- The recompute reads every order with its discount from this index alone,
-- and every interaction's time and kind from the other.
DROP INDEX orders_customer;
CREATE INDEX orders_customer ON orders(customer_id, ordered_at, amount_fen, discount_fen);
DROP INDEX interactions_customer;
CREATE INDEX interactions_customer ON interactions(customer_id, occurred_at, kind);
