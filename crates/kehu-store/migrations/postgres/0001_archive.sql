-- Customer archive, users and audit (PostgreSQL). Instants are UTC milliseconds.
CREATE TABLE teams (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE users (
    id TEXT PRIMARY KEY,
    login TEXT NOT NULL UNIQUE,
    name TEXT NOT NULL,
    role TEXT NOT NULL,
    team_id TEXT REFERENCES teams(id),
    manager_id TEXT REFERENCES users(id),
    password_hash TEXT NOT NULL,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);

CREATE TABLE sessions (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    csrf TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    expires_at BIGINT NOT NULL,
    last_seen_at BIGINT NOT NULL
);
CREATE INDEX sessions_user ON sessions(user_id);

CREATE TABLE api_tokens (
    id TEXT PRIMARY KEY,
    user_id TEXT NOT NULL REFERENCES users(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    token_hash TEXT NOT NULL UNIQUE,
    prefix TEXT NOT NULL,
    created_at BIGINT NOT NULL,
    last_used_at BIGINT,
    revoked_at BIGINT
);
CREATE INDEX api_tokens_user ON api_tokens(user_id);

CREATE TABLE login_attempts (
    id BIGSERIAL PRIMARY KEY,
    login TEXT NOT NULL,
    ip TEXT NOT NULL,
    at BIGINT NOT NULL,
    ok BOOLEAN NOT NULL
);
CREATE INDEX login_attempts_login ON login_attempts(login, at);
CREATE INDEX login_attempts_ip ON login_attempts(ip, at);

CREATE TABLE customers (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    name TEXT NOT NULL,
    name_pinyin TEXT NOT NULL,
    name_initials TEXT NOT NULL,
    gender TEXT,
    title TEXT,
    mobile TEXT,
    mobile_last4 TEXT,
    email TEXT,
    wechat TEXT,
    company TEXT,
    city TEXT,
    address TEXT,
    source TEXT,
    referred_by TEXT REFERENCES customers(id) ON DELETE SET NULL,
    birthday TEXT,
    grade TEXT,
    notes TEXT,
    owner_id TEXT REFERENCES users(id),
    team_id TEXT REFERENCES teams(id),
    custom_fields TEXT NOT NULL DEFAULT '{}',
    last_contact_at BIGINT,
    created_by TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL,
    deleted_at BIGINT,
    deleted_by TEXT
);
CREATE INDEX customers_created ON customers(created_at, id);
CREATE INDEX customers_owner ON customers(owner_id, created_at);
CREATE INDEX customers_team ON customers(team_id, created_at);
CREATE INDEX customers_mobile ON customers(mobile);
CREATE INDEX customers_last4 ON customers(mobile_last4);
CREATE INDEX customers_email ON customers(email);
CREATE INDEX customers_pinyin ON customers(name_pinyin);
CREATE INDEX customers_initials ON customers(name_initials);
CREATE INDEX customers_deleted ON customers(deleted_at);
CREATE INDEX customers_referred ON customers(referred_by);

CREATE TABLE contacts (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    name TEXT NOT NULL,
    position TEXT,
    role TEXT NOT NULL,
    mobile TEXT,
    email TEXT,
    wechat TEXT,
    birthday TEXT,
    preferences TEXT,
    notes TEXT,
    created_at BIGINT NOT NULL,
    updated_at BIGINT NOT NULL
);
CREATE INDEX contacts_customer ON contacts(customer_id);

CREATE TABLE tags (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL UNIQUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE customer_tags (
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    tag_id TEXT NOT NULL REFERENCES tags(id) ON DELETE CASCADE,
    PRIMARY KEY (customer_id, tag_id)
);
CREATE INDEX customer_tags_tag ON customer_tags(tag_id);

CREATE TABLE custom_fields (
    id TEXT PRIMARY KEY,
    key TEXT NOT NULL UNIQUE,
    label TEXT NOT NULL,
    kind TEXT NOT NULL,
    options TEXT NOT NULL DEFAULT '[]',
    required BOOLEAN NOT NULL DEFAULT FALSE,
    position BIGINT NOT NULL DEFAULT 0,
    active BOOLEAN NOT NULL DEFAULT TRUE,
    created_at BIGINT NOT NULL
);

CREATE TABLE consents (
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    channel TEXT NOT NULL,
    status TEXT NOT NULL,
    updated_at BIGINT NOT NULL,
    updated_by TEXT,
    PRIMARY KEY (customer_id, channel)
);

CREATE TABLE interactions (
    id TEXT PRIMARY KEY,
    customer_id TEXT NOT NULL REFERENCES customers(id) ON DELETE CASCADE,
    contact_id TEXT REFERENCES contacts(id) ON DELETE SET NULL,
    kind TEXT NOT NULL,
    body TEXT NOT NULL,
    occurred_at BIGINT NOT NULL,
    user_id TEXT REFERENCES users(id),
    created_at BIGINT NOT NULL
);
CREATE INDEX interactions_customer ON interactions(customer_id, occurred_at);

CREATE TABLE audit_log (
    id TEXT PRIMARY KEY,
    at BIGINT NOT NULL,
    actor_id TEXT,
    actor_login TEXT,
    action TEXT NOT NULL,
    entity TEXT NOT NULL,
    entity_id TEXT NOT NULL,
    customer_id TEXT,
    changes TEXT NOT NULL DEFAULT '[]'
);
CREATE INDEX audit_customer ON audit_log(customer_id, at);
CREATE INDEX audit_entity ON audit_log(entity, entity_id, at);
CREATE INDEX audit_at ON audit_log(at);
