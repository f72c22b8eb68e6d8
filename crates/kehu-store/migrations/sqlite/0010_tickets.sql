-- Complaints and service requests (工单), their handling, the promises
-- made on them and the service-level clocks; the script library (话术库);
-- satisfaction surveys; follow-up tasks; notifications to users; and the
-- job queue that runs reminders, escalations and survey sends exactly once.

-- Ticket categories, each handled with the method the team chose for it.
CREATE TABLE ticket_categories (
    name TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    active INTEGER NOT NULL DEFAULT 1
);
INSERT INTO ticket_categories (name, method, position) VALUES ('产品质量', 'clear', 1);
INSERT INTO ticket_categories (name, method, position) VALUES ('服务态度', 'clear', 2);
INSERT INTO ticket_categories (name, method, position) VALUES ('物流配送', 'lscpa', 3);
INSERT INTO ticket_categories (name, method, position) VALUES ('安装维修', 'lscpa', 4);
INSERT INTO ticket_categories (name, method, position) VALUES ('价格收费', 'lscpa', 5);
INSERT INTO ticket_categories (name, method, position) VALUES ('咨询建议', 'lscpa', 6);
INSERT INTO ticket_categories (name, method, position) VALUES ('其他', 'lscpa', 7);

-- Service-level targets per severity, in business minutes.
CREATE TABLE sla_targets (
    severity TEXT PRIMARY KEY,
    first_response_minutes INTEGER NOT NULL,
    resolution_minutes INTEGER NOT NULL
);
INSERT INTO sla_targets VALUES ('urgent', 60, 480);
INSERT INTO sla_targets VALUES ('high', 120, 960);
INSERT INTO sla_targets VALUES ('normal', 240, 1440);
INSERT INTO sla_targets VALUES ('low', 480, 2400);
INSERT INTO settings (key, value) VALUES ('business_hours', '09:00-18:00');

-- Numbers people say on the phone ("工单 1024").
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value INTEGER NOT NULL
);
INSERT INTO counters (name, value) VALUES ('tickets', 0);

-- Open means resolved_at IS NULL. next_due_at is the earlier of the
-- first-response due (until answered) and the resolution due; NULL while
-- the clock is paused. The targets are kept as they were when the ticket
-- was opened.
CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    number INTEGER NOT NULL UNIQUE,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    subject TEXT NOT NULL,
    description TEXT NOT NULL,
    channel TEXT NOT NULL,
    category TEXT,
    product TEXT,
    severity TEXT NOT NULL,
    purpose TEXT NOT NULL,
    department TEXT,
    method TEXT NOT NULL,
    status TEXT NOT NULL,
    assignee_id TEXT REFERENCES users(id),
    team_id TEXT REFERENCES teams(id),
    created_by TEXT REFERENCES users(id),
    created_at INTEGER NOT NULL,
    updated_at INTEGER NOT NULL,
    first_response_minutes INTEGER NOT NULL,
    resolution_minutes INTEGER NOT NULL,
    first_response_due_at INTEGER,
    resolution_due_at INTEGER,
    next_due_at INTEGER,
    first_responded_at INTEGER,
    resolved_at INTEGER,
    closed_at INTEGER,
    paused_at INTEGER,
    promised_at INTEGER,
    promises_made INTEGER NOT NULL DEFAULT 0,
    promises_kept INTEGER NOT NULL DEFAULT 0,
    promises_broken INTEGER NOT NULL DEFAULT 0,
    escalation_level INTEGER NOT NULL DEFAULT 0,
    escalated_to TEXT REFERENCES users(id),
    immediate_fix TEXT,
    preventive_action TEXT,
    public_token_hash TEXT UNIQUE
);
CREATE INDEX tickets_customer ON tickets(customer_id, created_at);
CREATE INDEX tickets_assignee_open ON tickets(assignee_id, next_due_at, id) WHERE resolved_at IS NULL;
CREATE INDEX tickets_team_open ON tickets(team_id, next_due_at, id) WHERE resolved_at IS NULL;
CREATE INDEX tickets_due_open ON tickets(next_due_at, id) WHERE resolved_at IS NULL;
CREATE INDEX tickets_created ON tickets(created_at);

-- Stretches of waiting on the customer; ended_at NULL while waiting.
CREATE TABLE ticket_pauses (
    ticket_id TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    started_at INTEGER NOT NULL,
    ended_at INTEGER,
    PRIMARY KEY (ticket_id, started_at)
);

-- What happened on a ticket: steps of the method, replies, notes,
-- promises, reminders, escalations, status changes.
CREATE TABLE ticket_events (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    user_id TEXT REFERENCES users(id),
    kind TEXT NOT NULL,
    step TEXT,
    channel TEXT,
    body TEXT,
    data TEXT NOT NULL DEFAULT '{}'
);
CREATE INDEX ticket_events_ticket ON ticket_events(ticket_id, at);

-- Solutions offered to the customer; the one they chose is marked.
CREATE TABLE ticket_solutions (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    offered_by TEXT REFERENCES users(id),
    offered_at INTEGER NOT NULL,
    chosen INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX ticket_solutions_ticket ON ticket_solutions(ticket_id);

-- What customers were given to make up for a failure.
CREATE TABLE compensations (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    amount_fen INTEGER NOT NULL,
    note TEXT,
    user_id TEXT REFERENCES users(id),
    created_at INTEGER NOT NULL
);
CREATE INDEX compensations_ticket ON compensations(ticket_id);
CREATE INDEX compensations_customer ON compensations(customer_id);
CREATE INDEX compensations_created ON compensations(created_at);

-- The script library (话术库): approved phrases by step and channel
-- (channel NULL: any channel).
CREATE TABLE scripts (
    id TEXT PRIMARY KEY,
    step TEXT NOT NULL,
    channel TEXT,
    body TEXT NOT NULL,
    position INTEGER NOT NULL DEFAULT 0,
    updated_by TEXT REFERENCES users(id),
    updated_at INTEGER NOT NULL
);
CREATE INDEX scripts_step ON scripts(step, position);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('07d3032f-3072-4ff5-a90e-890b19d898ad', 'listen', NULL, '您好，您慢慢说，我在认真听，也会把您说的每一点都记下来。', 0, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('af0408db-ff54-4611-a04a-e73f48ec9460', 'listen', 'phone', '您先别着急，我马上帮您查看，您把当时的情况再跟我说一下好吗？', 1, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('75c20ca6-f6fd-4dbc-bece-b88faf430a8b', 'listen', 'wechat', '收到您的消息了，非常抱歉给您带来不便，麻烦您把问题详细描述一下，有照片也可以发给我。', 2, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('3e2031f8-cd50-49b6-83c1-3d2cb94c2c0e', 'share', NULL, '遇到这样的事情，换作是我也会很着急，我完全理解您的心情。', 3, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('59184af2-cb76-4457-b398-373b2a0aeda3', 'share', NULL, '给您添麻烦了，真的很抱歉让您有这样不愉快的经历。', 4, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('c5e7e888-8b07-41f4-9c1d-6447035d1402', 'clarify', NULL, '为了尽快帮您解决，我想确认几个细节：您是哪天购买的？问题是从什么时候开始出现的？', 5, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('ebfa3615-5a8e-441a-b852-b8ec2067c293', 'clarify', NULL, '我复述一下您反映的情况，您看我理解得对不对。', 6, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('9e4e6f60-4d13-49b5-ba35-c2a9a00ba9c4', 'present', NULL, '针对您的情况，我们可以为您提供以下几种处理方式，您看哪一种更合适？', 7, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('11d9c980-532f-49f5-9295-7568710dd82a', 'present', NULL, '您希望我们怎么处理？在合理范围内我们会尽量满足您的要求。', 8, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('d0c29859-21bc-434e-90a4-622d3c6eaf0d', 'ask_for_action', NULL, '那我们就按刚才商定的方案办理：我这边今天安排，您这边需要配合的是……您看还有什么问题吗？', 9, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('80e3abb2-06b2-4bfa-a2ad-8ebd419f7ddf', 'ask_for_action', NULL, '处理进展我会在约定的时间之前主动联系您，请您放心。', 10, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('3be01974-7fe7-428d-a828-8c87e87708c5', 'control', NULL, '（提醒自己：可以不同意客户的投诉内容，但要认可客户投诉的方式；语速放慢，音量放低。）', 11, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('7f440aad-b0b9-418c-836a-8f31ddf6e114', 'establish_empathy', NULL, '如果我是您，碰到这种情况也一样会不满意，您的意见对我们非常重要。', 12, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('0467f66d-286d-4b43-8589-f52f9e3272a7', 'apologize', NULL, '对于这次给您带来的不便，我代表公司向您真诚地道歉。', 13, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('7422a548-b66c-422e-a37c-2d364076ecdd', 'apologize', 'email', '对于此次给您带来的困扰，我们深表歉意，并已将您的意见反馈给相关部门。', 14, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('0eaa839b-53e4-4e41-90b9-2184978061a5', 'resolve', NULL, '我们马上为您处理眼前的问题：……；同时我们也会改进……，避免类似的事情再次发生。', 15, 0);

-- Satisfaction surveys, answered once through a private link (only a hash
-- of its token is kept).
CREATE TABLE surveys (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    ticket_id TEXT REFERENCES tickets(id) ON DELETE SET NULL,
    token_hash TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    created_at INTEGER NOT NULL,
    expires_at INTEGER NOT NULL,
    answered_at INTEGER,
    satisfaction INTEGER,
    nps INTEGER,
    comment TEXT
);
CREATE INDEX surveys_customer ON surveys(customer_id, created_at);
CREATE INDEX surveys_answered ON surveys(answered_at) WHERE answered_at IS NOT NULL;
CREATE INDEX surveys_ticket ON surveys(ticket_id);

-- Things to do for a customer (a follow-up visit after a complaint).
CREATE TABLE tasks (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    ticket_id TEXT REFERENCES tickets(id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    title TEXT NOT NULL,
    due_at INTEGER NOT NULL,
    assignee_id TEXT REFERENCES users(id),
    done_at INTEGER,
    created_at INTEGER NOT NULL
);
CREATE INDEX tasks_assignee_open ON tasks(assignee_id, due_at) WHERE done_at IS NULL;
CREATE INDEX tasks_customer ON tasks(customer_id, due_at);

-- Messages to users (reminders, escalations).
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at INTEGER NOT NULL,
    kind TEXT NOT NULL,
    ticket_id TEXT REFERENCES tickets(id) ON DELETE CASCADE,
    data TEXT NOT NULL DEFAULT '{}',
    read_at INTEGER
);
CREATE INDEX notifications_user ON notifications(user_id, at);

-- Messages to customers waiting for a channel to deliver them. `link` is
-- a path of this server (a survey), put after the body with the server's
-- public address. A sender claims a message before sending it.
CREATE TABLE outbox (
    id TEXT PRIMARY KEY,
    customer_id TEXT REFERENCES customers(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    recipient TEXT,
    subject TEXT NOT NULL,
    body TEXT NOT NULL,
    link TEXT,
    created_at INTEGER NOT NULL,
    claimed_at INTEGER,
    claimed_by TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at INTEGER
);
CREATE INDEX outbox_pending ON outbox(created_at) WHERE sent_at IS NULL;

-- Background jobs. A worker takes a due job, does its work and marks it
-- done in one transaction, so each runs exactly once. dedupe_key keeps a
-- job from being queued twice.
CREATE TABLE jobs (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    dedupe_key TEXT NOT NULL UNIQUE,
    payload TEXT NOT NULL,
    run_at INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    done_at INTEGER,
    done_by TEXT,
    failed_at INTEGER,
    last_error TEXT,
    created_at INTEGER NOT NULL
);
CREATE INDEX jobs_due ON jobs(run_at) WHERE done_at IS NULL AND failed_at IS NULL;

-- Hits on public pages, for rate limits shared by every server.
CREATE TABLE rate_events (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    at INTEGER NOT NULL
);
CREATE INDEX rate_events_key ON rate_events(bucket, key, at);
CREATE INDEX rate_events_at ON rate_events(at);
