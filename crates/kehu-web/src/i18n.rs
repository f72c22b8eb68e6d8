//! UI texts in zh-CN and English. Templates call `tr.t("key")`; a key
//! missing here shows as itself, and a test checks that every key used in a
//! template is present.

use kehu_domain::Lang;

/// (key, zh-CN, English)
const TEXTS: &[(&str, &str, &str)] = &[
    ("app.name", "客户 kehu", "kehu CRM"),
    ("nav.customers", "客户", "Customers"),
    ("nav.new_customer", "新建客户", "New customer"),
    ("nav.recycle_bin", "回收站", "Recycle bin"),
    ("nav.duplicates", "疑似重复", "Duplicates"),
    ("nav.users", "用户", "Users"),
    ("nav.fields", "自定义字段", "Custom fields"),
    ("nav.tags", "标签", "Tags"),
    ("nav.audit", "审计日志", "Audit log"),
    ("nav.imports", "导入", "Import"),
    ("nav.account", "我的账号", "My account"),
    ("nav.logout", "退出", "Log out"),
    ("nav.language", "English", "中文"),
    ("login.title", "登录", "Log in"),
    ("login.login", "登录名", "Login"),
    ("login.password", "密码", "Password"),
    ("login.submit", "登录", "Log in"),
    (
        "login.failed",
        "登录名或密码错误",
        "Wrong login or password",
    ),
    (
        "login.rate_limited",
        "失败次数过多，请 15 分钟后再试",
        "Too many failed attempts; try again in 15 minutes",
    ),
    ("error.title", "出错了", "Something went wrong"),
    (
        "error.not_found",
        "记录不存在，或不在您的权限范围内",
        "No such record, or it is not in your scope",
    ),
    (
        "error.forbidden",
        "您的角色无权执行此操作",
        "Your role does not allow this",
    ),
    (
        "error.csrf",
        "表单已过期，请返回刷新后重试",
        "The form has expired; go back, reload and try again",
    ),
    (
        "error.bad_form",
        "表单内容无效",
        "The form could not be read",
    ),
    (
        "error.internal",
        "服务器内部错误，请联系管理员",
        "Internal error; please tell your administrator",
    ),
    ("error.back", "返回", "Back"),
    ("form.save", "保存", "Save"),
    ("form.cancel", "取消", "Cancel"),
    (
        "form.has_errors",
        "请修正标出的字段",
        "Please correct the marked fields",
    ),
    ("customers.title", "客户列表", "Customers"),
    ("customers.search", "搜索", "Search"),
    (
        "customers.search_hint",
        "姓名、拼音、手机尾号、邮箱、标签",
        "Name, pinyin, phone digits, e-mail, tag",
    ),
    ("customers.all_owners", "全部负责人", "All owners"),
    ("customers.all_tags", "全部标签", "All tags"),
    ("customers.all_sources", "全部来源", "All sources"),
    ("customers.all_grades", "全部等级", "All grades"),
    ("customers.all_kinds", "全部类型", "All kinds"),
    ("customers.sort", "排序", "Sort"),
    ("customers.none", "没有符合条件的客户", "No customers match"),
    ("customers.export", "按当前筛选导出：", "Export this list:"),
    ("pager.prev", "上一页", "Previous"),
    ("pager.next", "下一页", "Next"),
    ("pager.page", "第", "Page"),
    ("customer.edit", "编辑客户", "Edit customer"),
    ("customer.edit_short", "编辑", "Edit"),
    ("customer.delete", "删除到回收站", "Move to recycle bin"),
    ("customer.reveal", "显示完整号码", "Show full number"),
    (
        "customer.referrals",
        "TA 介绍的客户",
        "Customers they referred",
    ),
    ("contacts.title", "联系人", "Contacts"),
    ("contacts.none", "还没有联系人", "No contacts yet"),
    ("contacts.add", "添加联系人", "Add contact"),
    ("contacts.edit", "编辑联系人", "Edit contact"),
    ("contacts.delete", "删除联系人", "Delete contact"),
    ("interactions.log", "记录跟进", "Log an interaction"),
    ("interactions.kind", "方式", "Kind"),
    ("interactions.body", "内容", "What happened"),
    ("interactions.save", "保存跟进记录", "Save interaction"),
    ("timeline.title", "客户动态", "Timeline"),
    ("timeline.none", "暂无记录", "Nothing yet"),
    ("f.kind", "客户类型", "Kind"),
    ("f.name", "姓名/名称", "Name"),
    ("f.mobile", "手机号", "Mobile"),
    ("f.email", "邮箱", "E-mail"),
    ("f.gender", "性别", "Gender"),
    ("f.title", "称谓（如 总、经理）", "Title (e.g. Director)"),
    ("f.wechat", "微信号", "WeChat ID"),
    ("f.company", "公司", "Company"),
    ("f.city", "城市", "City"),
    ("f.address", "地址", "Address"),
    ("f.source", "来源", "Source"),
    (
        "f.referred_by",
        "介绍人（客户编号）",
        "Referred by (customer id)",
    ),
    ("f.birthday", "生日", "Birthday"),
    ("f.grade", "等级", "Grade"),
    ("f.owner", "负责人", "Owner"),
    ("f.tags", "标签", "Tags"),
    ("f.tags_hint", "标签（逗号分隔）", "Tags (comma-separated)"),
    ("f.consent", "授权·", "Consent: "),
    ("f.notes", "备注", "Notes"),
    ("f.created", "创建日期", "Created"),
    ("f.position", "职位", "Position"),
    ("f.contact_role", "决策角色", "Buying role"),
    ("f.preferences", "喜好", "Preferences"),
    ("f.merged_id", "合并进来的客户", "Merged in"),
    ("f.merged_into", "已合并到", "Merged into"),
    ("f.choices", "合并时的取值", "Values taken"),
    ("f.moved", "转来的记录", "Rows moved"),
    ("f.not_duplicate_of", "不是同一客户", "Not the same as"),
    ("dup.title", "疑似重复客户", "Likely duplicate customers"),
    (
        "dup.explain",
        "手机号、邮箱相同，或同名且同单位的客户。比较后可以合并，或标记为不是同一客户。",
        "Customers sharing a mobile, an e-mail, or a name and organisation. Compare them to merge, or mark them as different customers.",
    ),
    ("dup.none", "没有疑似重复的客户", "No likely duplicates"),
    ("dup.size", "人数", "customers:"),
    ("dup.compare", "比较并合并", "Compare and merge"),
    ("dup.not_duplicate", "不是同一客户", "Not a duplicate"),
    ("dup.first_page", "第一页", "First page"),
    ("dup.compare_title", "比较两条客户记录", "Compare two customer records"),
    (
        "dup.merge_explain",
        "选择保留哪条记录，以及每个不同字段保留哪个值。",
        "Choose the record that stays and, for each field that differs, the value it keeps.",
    ),
    ("dup.survivor", "保留的记录", "Record that stays"),
    ("dup.keep_this", "保留这条", "Keep this one"),
    ("dup.interactions", "跟进记录", "Interactions"),
    (
        "dup.all_kept",
        "两条记录的联系人、跟进记录、标签、授权、自定义字段、介绍关系和变更历史都会保留在保留的记录上；另一条记录不再出现在列表和搜索中，其链接会转到保留的记录。",
        "Contacts, interactions, tags, consents, custom fields, referrals and the history of both records stay with the record kept; the other leaves lists and search, and its links lead to the record kept.",
    ),
    ("dup.merge", "合并", "Merge"),
    (
        "dup.cannot_merge",
        "您没有修改这两条记录的权限，无法合并",
        "You may not change both records, so you cannot merge them",
    ),
    (
        "dup.warning",
        "可能已有这位客户：",
        "This customer may already exist:",
    ),
    ("dup.create_anyway", "仍然新建", "Create anyway"),
    ("users.role", "角色", "Role"),
    ("users.team", "团队", "Team"),
    ("users.team_hint", "团队（新名称会自动创建）", "Team (a new name creates it)"),
    ("users.status", "状态", "Status"),
    ("users.active", "启用", "Active"),
    ("users.inactive", "已停用", "Deactivated"),
    ("users.add", "添加用户", "Add user"),
    ("users.manager", "直属上级", "Reports to"),
    ("users.can_export", "允许导出客户列表", "May export customer lists"),
    ("users.can_export_hint", "仅能导出其权限范围内的客户，手机号按其角色显示；所有者和管理员始终可以导出。", "Only the customers they may see, with phone numbers as their role sees them; owners and admins always may."),
    ("users.new_password", "新密码（至少 10 位）", "New password (10+ characters)"),
    ("users.sessions_end", "修改密码、角色、团队或停用后，该用户的所有登录会话立即失效。", "Changing the password, role or team, or deactivating, ends all of the user's sessions at once."),
    ("fields.label", "显示名称", "Label"),
    ("fields.key", "字段键", "Key"),
    ("fields.key_hint", "字段键（小写字母、数字、下划线）", "Key (a-z, 0-9, _)"),
    ("fields.kind", "类型", "Type"),
    ("fields.options", "选项", "Options"),
    ("fields.options_hint", "选项（每行一个，仅选项类型）", "Options (one per line, choice fields)"),
    ("fields.required", "必填", "Required"),
    ("fields.position", "排序", "Order"),
    ("fields.retired", "已停用（保留历史值）", "Retired (values kept)"),
    ("fields.add", "添加自定义字段", "Add a custom field"),
    ("fields.edit", "编辑字段", "Edit field"),
    ("bin.explain", "删除的客户在回收站保留 30 天，期间管理员可以恢复，之后永久删除。天数", "Deleted customers stay here for 30 days and can be restored; then they are purged. Days"),
    ("bin.empty", "回收站是空的", "The recycle bin is empty"),
    ("bin.deleted", "删除时间", "Deleted"),
    ("bin.days_left", "剩余天数", "Days left"),
    ("bin.restore", "恢复", "Restore"),
    ("audit.time", "时间", "Time"),
    ("audit.actor", "操作人", "Who"),
    ("audit.action", "操作", "Action"),
    ("audit.entity", "对象", "Record"),
    ("audit.changes", "变更（原值 → 新值）", "Changes (old → new)"),
    ("imports.title", "导入记录", "Imports"),
    ("imports.new", "导入客户", "Import customers"),
    ("imports.none", "还没有导入过文件", "No files imported yet"),
    ("imports.all", "全部导入记录", "All imports"),
    ("import.file", "文件", "File"),
    ("import.source", "来源", "Source"),
    ("import.source_hint", "文件来源（如 旧系统、展会名单；按来源记住列对应）", "Where the file comes from (e.g. old system, trade fair list; the column mapping is remembered per source)"),
    ("import.explain", "上传客户名单、企业客户的联系人或历史联系记录，确认每一列对应的字段并预览前 20 行，再试运行或正式导入。按外部编号、手机号、邮箱匹配已有客户：重复导入同一文件不会产生重复记录；有问题的行会被拒绝并列出原因，其余行照常导入。", "Upload a customer list, the contacts of organisations or past interactions; choose the field of each column and preview the first 20 rows, then dry-run or import. Rows are matched to existing customers by external id, mobile and e-mail, so importing a file again creates no duplicates; bad rows are rejected with their reasons and the others are imported."),
    ("import.kind", "导入内容", "The file holds"),
    ("nav.analytics", "经营分析", "Analytics"),
    ("value.title", "客户价值", "Customer value"),
    ("value.orders", "订单", "Orders"),
    ("value.days", "个购买日", "days with a purchase"),
    ("value.p_alive", "仍是活跃客户的概率", "Chance still active"),
    ("value.expected", "未来 10 周预计购买次数", "Purchases expected in the next 10 weeks"),
    ("value.clv", "未来 12 个月的客户价值", "Value of the next 12 months"),
    ("value.explain", "按 BG/NBD 与 Gamma-Gamma 模型（每月折现 1%）估计；数据截止", "Estimated with the BG/NBD and Gamma-Gamma models (discounted 1% a month); data up to"),
    ("analytics.title", "客户价值模型", "Customer-value models"),
    ("analytics.explain", "按全部客户的订单（同一天的订单算一次购买）用最大似然拟合 BG/NBD、Pareto/NBD 与 Gamma-Gamma 模型，每晚自动更新；据此估计客户仍活跃的概率、未来购买次数与终身价值。", "BG/NBD, Pareto/NBD and Gamma-Gamma fitted by maximum likelihood on every customer's orders (orders of one day are one purchase), refitted every night; they give each customer's chance of still being active, expected purchases and lifetime value."),
    ("analytics.none", "还没有拟合结果：导入订单后，模型会在夜间自动拟合，管理员也可以立即拟合。", "No fits yet: once orders are imported the models are fitted at night, or an admin fits them now."),
    ("analytics.model", "模型", "Model"),
    ("analytics.params", "参数", "Parameters"),
    ("analytics.ll", "对数似然", "Log-likelihood"),
    ("analytics.customers", "客户数", "Customers"),
    ("analytics.until", "数据截止", "Data up to"),
    ("analytics.fitted", "拟合时间", "Fitted"),
    ("analytics.not_converged", "未收敛：数据不足以确定参数", "Did not converge: the data do not pin the parameters down"),
    ("analytics.until_hint", "数据截止日期（留空为昨天）", "Use purchases up to (blank: yesterday)"),
    ("analytics.refit", "立即重新计算评分并拟合模型", "Recompute scores and fit the models now"),
    ("nav.dashboard", "经营看板", "Dashboard"),
    ("dashboard.title", "经营看板", "Management dashboard"),
    ("dashboard.from", "起始月份", "From month"),
    ("dashboard.to", "结束月份", "To month"),
    ("dashboard.owner", "负责人", "Owner"),
    ("dashboard.as_of", "评分截至", "Scores as of"),
    ("dashboard.customers", "位客户", "customers"),
    ("dashboard.profit", "利润合计", "total profit"),
    ("dashboard.top20", "前 20% 客户的利润占比", "Profit share of the top 20%"),
    ("dashboard.none", "还没有评分：每晚自动重新计算，管理员也可在“客户价值模型”页立即计算。", "No scores yet: they are recomputed every night, or an admin recomputes them now on the customer-value page."),
    ("scores.run_title", "客户评分（等级、生命周期、RFM、利润、终身价值）", "Customer scores (grade, lifecycle, RFM, profit, lifetime value)"),
    ("scores.running", "正在重新计算，开始于", "Recomputing, started"),
    ("scores.as_of", "数据截至", "As of"),
    ("scores.buyers", "有购买", "buyers"),
    ("scores.key", "重点客户", "key customers"),
    ("scores.changed", "等级变化的客户", "Customers whose grade changed"),
    ("scores.fit_error", "模型未拟合", "Models not fitted"),
    ("scores.never", "尚未计算。", "Not computed yet."),
    ("scores.settings", "客户分级设置", "Grading settings"),
    ("scores.settings_explain", "各维度按全部客户的百分位打分，再按权重合计为 0-100 分；分数达到 A、B 线即为 A、B 类，其余为 C 类；分数最高的一部分客户为重点客户。修改在下次重新计算时生效。", "Each dimension scores a customer's percentile among all customers; the weighted sum is a score of 0-100; at or above the A and B lines a customer is A or B, else C; the highest scores are key customers. Changes apply from the next recompute."),
    ("scores.saved", "已保存，下次重新计算时生效。", "Saved; applies from the next recompute."),
    ("scores.w_spend", "权重：消费金额", "Weight: spend"),
    ("scores.w_purchases", "权重：购买及到访次数", "Weight: purchases and visits"),
    ("scores.w_referrals", "权重：推荐客户数", "Weight: referrals"),
    ("scores.w_age", "权重：客户年限", "Weight: customer age"),
    ("scores.w_power", "权重：购买力（客单价）", "Weight: purchasing power"),
    ("scores.a_min", "A 类分数线", "A from score"),
    ("scores.b_min", "B 类分数线", "B from score"),
    ("scores.key_share", "重点客户占比 %", "Key customers %"),
    ("scores.window_days", "统计期（天）", "Window (days)"),
    ("scores.frozen_days", "冰点：无购买无联系天数", "Frozen after silent days"),
    ("scores.drop_pct", "迁移：近期消费下降 %", "Migrating: recent spend down %"),
    ("scores.service_cost", "每张工单的服务成本（元）", "Service cost per ticket (yuan)"),
    ("scores.horizon", "预测期（周）", "Horizon (weeks)"),
    ("scores.save", "保存设置", "Save settings"),
    ("scores.title", "客户分级与价值", "Grade and value"),
    ("scores.grade", "现行等级", "Grade in force"),
    ("scores.computed", "数据分级", "Grade from the data"),
    ("scores.score", "综合得分", "Score"),
    ("scores.overridden", "手工调整，原因：", "Set by hand, because:"),
    ("scores.lifecycle", "生命周期", "Lifecycle"),
    ("scores.rfm", "RFM（近度/频度/额度，5 为最好）", "RFM (recency/frequency/monetary, 5 best)"),
    ("scores.dimension", "维度", "Dimension"),
    ("scores.raw", "数值", "Value"),
    ("scores.percentile", "百分位", "Percentile"),
    ("scores.weight", "权重", "Weight"),
    ("scores.points", "得分", "Points"),
    ("scores.revenue", "销售额（折前）", "Revenue before discounts"),
    ("scores.discounts", "折让", "Discounts"),
    ("scores.compensation", "补偿", "Compensation"),
    ("scores.effort", "服务成本", "Service effort"),
    ("scores.profit", "利润", "Profit"),
    ("scores.window", "统计期内", "in the window"),
    ("scores.override", "手工调整等级", "Set the grade by hand"),
    ("scores.reason", "原因（记入审计日志）", "Reason (kept in the audit log)"),
    ("scores.auto", "按数据分级", "From the data"),
    ("scores.apply", "调整", "Apply"),
    ("scores.none", "尚未评分：每晚重新计算。", "Not scored yet: scores are recomputed every night."),
    ("import.kind_hint_contacts", "联系人文件：用“外部编号”或“公司/所属客户”指明企业客户；按手机、邮箱或姓名匹配该客户已有的联系人。", "Contacts: name the organisation by “External id” or “Customer”; a row updates the organisation's contact with the same mobile, e-mail or name."),
    ("import.kind_hint_interactions", "联系记录文件：用外部编号、客户名称、手机或邮箱指明客户，需要“联系时间”和“内容”两列；同一客户、时间、方式和内容的记录不会重复导入。", "Interactions: name the customer by external id, name, mobile or e-mail; a time and a content column are needed; an interaction with the same customer, time, channel and content is not imported twice."),
    ("import.formats", "支持 CSV（UTF-8 或 GBK，逗号、分号、制表符分隔）、Excel（.xlsx、.xls）和 .ods；第一行为标题行。大小上限", "CSV (UTF-8 or GBK; comma, semicolon or tab separated), Excel (.xlsx, .xls) and .ods; the first row holds the headers. Size limit"),
    ("import.upload", "上传", "Upload"),
    ("import.mapping", "确认列对应", "Map the columns"),
    ("import.mapping_explain", "为文件的每一列选择对应的字段，不需要的列选“忽略”。", "Choose the field of each column of the file, or “Ignore”."),
    ("import.column", "文件中的列", "Column in the file"),
    ("import.field", "对应字段", "Field"),
    ("import.example", "示例", "Example"),
    ("import.ignore", "忽略", "Ignore"),
    ("import.owner", "新客户的负责人", "Owner of new customers"),
    ("import.preview_again", "按此对应预览", "Preview with this mapping"),
    ("import.dry_run", "试运行整个文件", "Dry-run the whole file"),
    ("import.run", "开始导入", "Import"),
    ("import.preview", "预览：前几行将如何导入", "Preview: what the first rows would do"),
    ("import.no_preview", "修正列对应后显示预览", "The preview shows once the mapping is complete"),
    ("import.line", "行号", "Line"),
    ("import.outcome", "结果", "Result"),
    ("import.created", "新建", "New"),
    ("import.updated", "更新", "Updated"),
    ("import.unchanged", "无变化", "Unchanged"),
    ("import.rejected", "被拒绝", "Rejected"),
    ("import.rows", "已处理行数", "Rows handled"),
    ("import.dry_run_short", "试运行", "dry run"),
    ("import.dry_run_note", "试运行：检查了每一行，没有写入任何数据。", "Dry run: every row was checked and nothing was written."),
    ("import.running_note", "正在后台导入，可以离开此页面。", "Importing in the background; you may leave this page."),
    ("import.building_indexes", "所有行已写入，正在重建索引，大量导入约需一两分钟。", "Every row is in; rebuilding the indexes (a minute or two for a large import)."),
    ("import.refresh", "刷新", "Refresh"),
    ("import.interrupted_note", "导入因服务器重启而中断。再次运行是安全的：已导入的行不会重复。", "The import was cut short by a server restart. Running it again is safe: rows already imported are not duplicated."),
    ("import.rejects", "下载被拒绝的行.csv", "Download the rejected rows (CSV)"),
    ("import.after_dry_run", "确认列对应并正式导入", "Review the mapping and import"),
    ("import.run_again", "再次运行", "Run again"),
    ("account.change_password", "修改密码", "Change password"),
    ("account.current_password", "当前密码", "Current password"),
    ("account.password_changed", "密码已修改，其他设备上的登录已退出。", "Password changed; other sessions have ended."),
    ("account.tokens", "API 令牌", "API tokens"),
    ("account.token_once", "新令牌只显示这一次，请立即复制保存：", "The new token is shown only now; copy it:"),
    ("account.prefix", "前缀", "Prefix"),
    ("account.last_used", "最近使用", "Last used"),
    ("account.revoked", "已吊销", "Revoked"),
    ("account.revoke", "吊销", "Revoke"),
    ("account.token_name", "令牌用途（如 ERP 同步）", "What it is for (e.g. ERP sync)"),
    ("account.new_token", "创建令牌", "Create token"),
];

#[derive(Debug, Clone, Copy)]
pub struct Tr(pub Lang);

impl Tr {
    pub fn t(&self, key: &str) -> &'static str {
        lookup(key, self.0).unwrap_or("??")
    }

    pub fn lang(&self) -> Lang {
        self.0
    }

    pub fn is_en(&self) -> bool {
        self.0 == Lang::En
    }
}

/// Every table of texts: the general ones here, and those of page areas
/// that keep their own beside their handlers.
const TABLES: &[&[(&str, &str, &str)]] = &[
    TEXTS,
    crate::ui::tickets::TEXTS,
    crate::ui::public::TEXTS,
    crate::ui::orders::TEXTS,
];

pub fn lookup(key: &str, lang: Lang) -> Option<&'static str> {
    TABLES
        .iter()
        .flat_map(|t| t.iter())
        .find(|(k, _, _)| *k == key)
        .map(|(_, zh, en)| lang.pick(zh, en))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `.t("...")` in a template has both translations, and no key is
    /// listed twice.
    #[test]
    fn template_keys_exist() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut missing = vec![];
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split(".t(\"").skip(1) {
                let key = part.split('"').next().unwrap();
                if lookup(key, Lang::ZhCn).is_none() {
                    missing.push(format!("{}: {key}", path.display()));
                }
            }
        }
        assert!(missing.is_empty(), "keys without texts: {missing:?}");
        let mut keys: Vec<&str> = TABLES.iter().flat_map(|t| t.iter()).map(|t| t.0).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(n, keys.len(), "duplicate keys");
    }
}
