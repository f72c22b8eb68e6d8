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
    ("nav.users", "用户", "Users"),
    ("nav.fields", "自定义字段", "Custom fields"),
    ("nav.tags", "标签", "Tags"),
    ("nav.audit", "审计日志", "Audit log"),
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

pub fn lookup(key: &str, lang: Lang) -> Option<&'static str> {
    TEXTS
        .iter()
        .find(|(k, _, _)| *k == key)
        .map(|(_, zh, en)| lang.pick(zh, en))
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Every `t("...")` in a template has both translations, and no key is
    /// listed twice.
    #[test]
    fn template_keys_exist() {
        let dir = concat!(env!("CARGO_MANIFEST_DIR"), "/templates");
        let mut missing = vec![];
        for entry in std::fs::read_dir(dir).unwrap() {
            let path = entry.unwrap().path();
            let text = std::fs::read_to_string(&path).unwrap();
            for part in text.split("t(\"").skip(1) {
                let key = part.split('"').next().unwrap();
                if lookup(key, Lang::ZhCn).is_none() {
                    missing.push(format!("{}: {key}", path.display()));
                }
            }
        }
        assert!(missing.is_empty(), "keys without texts: {missing:?}");
        let mut keys: Vec<&str> = TEXTS.iter().map(|t| t.0).collect();
        keys.sort();
        let n = keys.len();
        keys.dedup();
        assert_eq!(n, keys.len(), "duplicate keys");
    }
}
