-- Complaints and service requests (工单), their handling, the promises
-- made on them and the service-level clocks; the script library (话术库);
-- satisfaction surveys; follow-up tasks; notifications to users; and the
-- job queue that runs reminders, escalations and survey sends exactly once.

-- Ticket categories, each handled with the method the team chose for it.
CREATE TABLE ticket_categories (
    name TEXT PRIMARY KEY,
    method TEXT NOT NULL,
    position BIGINT NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT TRUE
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
    first_response_minutes BIGINT NOT NULL,
    resolution_minutes BIGINT NOT NULL
);
INSERT INTO sla_targets VALUES ('urgent', 60, 480);
INSERT INTO sla_targets VALUES ('high', 120, 960);
INSERT INTO sla_targets VALUES ('normal', 240, 1440);
INSERT INTO sla_targets VALUES ('low', 480, 2400);
INSERT INTO settings (key, value) VALUES ('business_hours', '09:00-18:00');

-- Numbers people say on the phone ("工单 1024").
CREATE TABLE counters (
    name TEXT PRIMARY KEY,
    value BIGINT NOT NULL
);
INSERT INTO counters (name, value) VALUES ('tickets', 0);

-- Open means resolved_at IS NULL. next_due_at is the earlier of the
-- first-response due (until answered) and the resolution due; NULL while
-- the clock is paused. The targets are kept as they were when the ticket
-- was opened.
CREATE TABLE tickets (
    id TEXT PRIMARY KEY,
    number BIGINT NOT NULL UNIQUE,
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
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    first_response_minutes BIGINT NOT NULL,
    resolution_minutes BIGINT NOT NULL,
    first_response_due_at BIGINT,
    resolution_due_at BIGINT,
    next_due_at BIGINT,
    first_responded_at BIGINT,
    resolved_at BIGINT,
    closed_at BIGINT,
    paused_at BIGINT,
    promised_at BIGINT,
    promises_made BIGINT NOT NULL DEFAULT 0,
    promises_kept BIGINT NOT NULL DEFAULT 0,
    promises_broken BIGINT NOT NULL DEFAULT 0,
    escalation_level BIGINT NOT NULL DEFAULT 0,
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
    started_at BIGINT NOT NULL,
    ended_at BIGINT,
    PRIMARY KEY (ticket_id, started_at)
);

-- What happened on a ticket: steps of the method, replies, notes,
-- promises, reminders, escalations, status changes.
CREATE TABLE ticket_events (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
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
    offered_at BIGINT NOT NULL,
    chosen BOOLEAN NOT NULL DEFAULT FALSE
);
CREATE INDEX ticket_solutions_ticket ON ticket_solutions(ticket_id);

-- What customers were given to make up for a failure.
CREATE TABLE compensations (
    id TEXT PRIMARY KEY,
    ticket_id TEXT NOT NULL REFERENCES tickets(id) ON DELETE CASCADE,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    amount_fen BIGINT NOT NULL,
    note TEXT,
    user_id TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL
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
    position BIGINT NOT NULL DEFAULT 0,
    updated_by TEXT REFERENCES users(id),
    updated_at BIGINT NOT NULL
);
CREATE INDEX scripts_step ON scripts(step, position);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('8eb9b81e-ce18-4542-9664-0c2da92cd0bb', 'listen', NULL, '您好，您慢慢说，我在认真听，也会把您说的每一点都记下来。', 0, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('db68efec-4098-45bb-9893-caa91fae42c5', 'listen', 'phone', '您先别着急，我马上帮您查看，您把当时的情况再跟我说一下好吗？', 1, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('12a188c7-29ff-4ddb-95a5-df90cbf9c1c1', 'listen', 'wechat', '收到您的消息了，非常抱歉给您带来不便，麻烦您把问题详细描述一下，有照片也可以发给我。', 2, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('3dd13ad7-1739-41b5-a3b4-89ca53011861', 'share', NULL, '遇到这样的事情，换作是我也会很着急，我完全理解您的心情。', 3, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('f99be21c-f21a-440e-9b27-d3b1e0c72928', 'share', NULL, '给您添麻烦了，真的很抱歉让您有这样不愉快的经历。', 4, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('666718d8-4540-4dc0-9c05-70fd5e3b48d6', 'clarify', NULL, '为了尽快帮您解决，我想确认几个细节：您是哪天购买的？问题是从什么时候开始出现的？', 5, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('84ebf6f5-46e4-4225-b2ad-64384570575c', 'clarify', NULL, '我复述一下您反映的情况，您看我理解得对不对。', 6, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('c15b7939-17ea-4b1e-af69-9650d3101d99', 'present', NULL, '针对您的情况，我们可以为您提供以下几种处理方式，您看哪一种更合适？', 7, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('16b19907-2ecc-4d92-a717-7a582ad4b64b', 'present', NULL, '您希望我们怎么处理？在合理范围内我们会尽量满足您的要求。', 8, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('f08c3f0a-fe4f-4321-9edc-6dae42b9560f', 'ask_for_action', NULL, '那我们就按刚才商定的方案办理：我这边今天安排，您这边需要配合的是……您看还有什么问题吗？', 9, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('3e394194-00ab-422e-af94-9f576dab0e30', 'ask_for_action', NULL, '处理进展我会在约定的时间之前主动联系您，请您放心。', 10, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('3adafa6c-68c1-4b3c-90e7-5ca6ea5763d9', 'control', NULL, '（提醒自己：可以不同意客户的投诉内容，但要认可客户投诉的方式；语速放慢，音量放低。）', 11, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('41c5bd55-95ae-482c-99d0-0e3d68206d86', 'establish_empathy', NULL, '如果我是您，碰到这种情况也一样会不满意，您的意见对我们非常重要。', 12, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('f3f45b2b-100c-473c-89dc-7218fcb93496', 'apologize', NULL, '对于这次给您带来的不便，我代表公司向您真诚地道歉。', 13, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('05dd6333-5ef4-4250-aec3-b3576bddd7ce', 'apologize', 'email', '对于此次给您带来的困扰，我们深表歉意，并已将您的意见反馈给相关部门。', 14, 0);
INSERT INTO scripts (id, step, channel, body, position, updated_at) VALUES ('314b80df-9c96-4f97-ba41-1465d60f906b', 'resolve', NULL, '我们马上为您处理眼前的问题：……；同时我们也会改进……，避免类似的事情再次发生。', 15, 0);

-- Satisfaction surveys, answered once through a private link (only a hash
-- of its token is kept).
CREATE TABLE surveys (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    ticket_id TEXT REFERENCES tickets(id) ON DELETE SET NULL,
    token_hash TEXT NOT NULL UNIQUE,
    channel TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    answered_at BIGINT,
    satisfaction BIGINT,
    nps BIGINT,
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
    due_at BIGINT NOT NULL,
    assignee_id TEXT REFERENCES users(id),
    done_at BIGINT,
    created_at BIGINT NOT NULL
);
CREATE INDEX tasks_assignee_open ON tasks(assignee_id, due_at) WHERE done_at IS NULL;
CREATE INDEX tasks_customer ON tasks(customer_id, due_at);

-- Messages to users (reminders, escalations).
CREATE TABLE notifications (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    at BIGINT NOT NULL,
    kind TEXT NOT NULL,
    ticket_id TEXT REFERENCES tickets(id) ON DELETE CASCADE,
    data TEXT NOT NULL DEFAULT '{}',
    read_at BIGINT
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
    created_at BIGINT NOT NULL,
    claimed_at BIGINT,
    claimed_by TEXT,
    attempts BIGINT NOT NULL DEFAULT 0,
    last_error TEXT,
    sent_at BIGINT
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
    run_at BIGINT NOT NULL,
    attempts BIGINT NOT NULL DEFAULT 0,
    done_at BIGINT,
    done_by TEXT,
    failed_at BIGINT,
    last_error TEXT,
    created_at BIGINT NOT NULL
);
CREATE INDEX jobs_due ON jobs(run_at) WHERE done_at IS NULL AND failed_at IS NULL;

-- Hits on public pages, for rate limits shared by every server.
CREATE TABLE rate_events (
    bucket TEXT NOT NULL,
    key TEXT NOT NULL,
    at BIGINT NOT NULL
);
CREATE INDEX rate_events_key ON rate_events(bucket, key, at);
CREATE INDEX rate_events_at ON rate_events(at);
