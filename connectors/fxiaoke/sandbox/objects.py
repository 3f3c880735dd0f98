"""The object describes the Fxiaoke sandbox serves (``/cgi/crm/v2/object/describe``).

Shapes follow the documented describe answer: ``data.describe`` with ``api_name``,
``display_name``, ``define_type`` and ``fields`` keyed by field api name, each with
``api_name``, ``label``, ``type``, ``is_required``, ``define_type``, ``is_active`` and,
for ``select_one`` / ``select_many``, ``options: [{"label", "value"}]``. Custom fields
and custom objects end in ``__c``.

Field types used (the documented value formats): ``text``, ``long_text``, ``select_one``
(the option ``value``, not the label), ``number`` / ``currency`` / ``percentile`` (strings),
``date`` / ``date_time`` (epoch ms), ``true_or_false``, ``phone_number``, ``email``, ``url``,
``employee`` (a list), ``object_reference`` / ``master_detail`` (an ``_id``), ``auto_number``,
``quote`` (read-only).
"""
from __future__ import annotations

from typing import Any

from concord.hub.sandbox.world import _INDUSTRY, _TERMS, _UNITS, _GROUPS

_COUNTRIES = [("CN", "中国"), ("DE", "德国"), ("FR", "法国"), ("GB", "英国"), ("US", "美国"), ("NL", "荷兰")]
_CURRENCIES = [("CNY", "人民币"), ("EUR", "欧元"), ("GBP", "英镑"), ("USD", "美元")]
INDUSTRY_CODES = {name: str(i + 1) for i, name in enumerate(_INDUSTRY)}
ORDER_STATUS = {"draft": "1", "open": "2", "in_process": "3", "completed": "4", "cancelled": "5"}
DELIVERY_STATUS = [("not_delivered", "未发货"), ("partially_delivered", "部分发货"), ("delivered", "已发货")]
BILLING_STATUS = [("not_billed", "未开票"), ("partially_billed", "部分开票"), ("billed", "已开票")]
SALES_STAGE = [("1", "验证客户"), ("2", "需求确定"), ("3", "方案/报价"), ("4", "谈判审核"), ("5", "赢单"), ("6", "输单")]

READ_ONLY = {"auto_number", "quote", "formula", "count"}
#: the custom text field that holds Concord's golden id (``external_id_fields`` of the sandbox's config)
CONCORD_ID_FIELD = "concord_id__c"
CONCORD_ID_EXCLUDED = {"SalesOrderProductObj", "NewOpportunityLinesObj"}


def _opts(pairs: list[tuple[str, str]]) -> list[dict[str, str]]:
    return [{"value": v, "label": label} for v, label in pairs]


def f(api_name: str, label: str, type_: str, *, required: bool = False, options: list[dict[str, str]] | None = None,
      target: str | None = None, define_type: str | None = None, max_length: int | None = None,
      decimal_places: int | None = None, updateable: bool = True) -> dict[str, Any]:
    d: dict[str, Any] = {"api_name": api_name, "label": label, "type": type_, "is_required": required,
                         "define_type": define_type or ("custom" if api_name.endswith("__c") else "package"),
                         "is_active": True, "is_unique": False, "status": "released"}
    if options is not None:
        d["options"] = options
    if target:
        d["target_api_name"] = target
    if max_length:
        d["max_length"] = max_length
    if decimal_places is not None:
        d["decimal_places"] = decimal_places
    if type_ in ("date", "date_time"):
        d["date_format"] = "yyyy-MM-dd" if type_ == "date" else "yyyy-MM-dd HH:mm"
        d["time_zone"] = "GMT+8"
    if not updateable:
        d["is_readonly_on_edit"] = True  # sandbox marker: rejected by data/update (use changeOwner)
    return d


def _system_fields() -> list[dict[str, Any]]:
    """Fields every object carries."""
    return [
        f("_id", "主键", "text", define_type="system"),
        f("owner", "负责人", "employee", required=True, updateable=False),
        f("owner_department", "负责人主属部门", "text", define_type="system"),
        f("created_by", "创建人", "employee", define_type="system"),
        f("create_time", "创建时间", "date_time", define_type="system"),
        f("last_modified_by", "最后修改人", "employee", define_type="system"),
        f("last_modified_time", "最后修改时间", "date_time", define_type="system"),
        f("life_status", "生命状态", "select_one", define_type="system",
          options=_opts([("normal", "正常"), ("invalid", "作废"), ("ineffective", "未生效"),
                         ("under_review", "审核中"), ("in_change", "变更中")])),
        f("is_deleted", "是否删除", "true_or_false", define_type="system"),
        f("lock_status", "锁定状态", "select_one", define_type="system", options=_opts([("0", "未锁定"), ("1", "锁定")])),
        f("record_type", "业务类型", "record_type", define_type="system"),
        f("version", "版本", "text", define_type="system"),
    ]


SYSTEM_READ_ONLY = {"_id", "owner_department", "created_by", "create_time", "last_modified_by", "last_modified_time",
                    "life_status", "is_deleted", "lock_status", "version"}


def _object(api_name: str, display: str, fields: list[dict[str, Any]], *, define_type: str = "package") -> dict[str, Any]:
    all_fields = _system_fields() + fields
    return {"api_name": api_name, "display_name": display, "define_type": define_type, "is_active": True,
            "fields": {fd["api_name"]: fd for fd in all_fields}}


def build_describes() -> dict[str, dict[str, Any]]:
    country = _opts([(c, n) for c, n in _COUNTRIES])
    currency = _opts(_CURRENCIES)
    objs = [
        _object("AccountObj", "客户", [
            f("name", "客户名称", "text", required=True, max_length=100),
            f("account_no", "客户编号", "text", max_length=100),
            f("english_name__c", "英文名称", "text", max_length=200),
            f("legal_form__c", "公司类型", "text", max_length=50),
            f("uniform_social_credit_code", "统一社会信用代码", "text", max_length=50),
            f("erp_customer_no__c", "ERP客户编号", "text", max_length=20),
            f("duns__c", "邓白氏编码", "text", max_length=9),
            f("tel", "电话", "phone_number"),
            f("email", "邮件", "email"),
            f("url", "网址", "url"),
            f("country", "国家", "select_one", options=country),
            f("province__c", "省/州", "text", max_length=50),
            f("city__c", "城市", "text", max_length=100),
            f("address", "详细地址", "text", max_length=300),
            f("postal_code__c", "邮政编码", "text", max_length=20),
            f("industry_level1", "行业", "select_one", options=_opts([(v, k) for k, v in INDUSTRY_CODES.items()])),
            f("deal_status", "成交状态", "select_one", options=_opts([("1", "未成交"), ("2", "已成交"), ("3", "多次成交")])),
            f("account_level", "客户级别", "select_one", options=_opts([("A", "重要客户"), ("B", "普通客户"), ("C", "一般客户")])),
            f("credit_limit__c", "信用额度", "currency", decimal_places=2),
            f("payment_terms__c", "付款条件", "select_one", options=_opts([(t, t) for t in _TERMS])),
            f("mc_currency", "币种", "select_one", options=currency),
            f("annual_revenue__c", "年营业额", "currency", decimal_places=2),
            f("employee_count__c", "员工人数", "number", decimal_places=0),
            # receivables roll-ups from the ERP's invoices: the tenant's custom fields (README: setup)
            f("open_receivables__c", "未收金额", "currency", decimal_places=2),
            f("overdue_receivables__c", "逾期金额", "currency", decimal_places=2),
            f("last_payment_date__c", "最近回款日期", "date"),
            f("invoice_count__c", "发票数量", "number", decimal_places=0),
            # KPIs from Concord's customer_kpi view (order-to-cash `kpis:`): custom fields (README: setup)
            f("lifetime_value__c", "客户终身价值", "currency", decimal_places=2),
            f("credit_exposure__c", "信用敞口", "currency", decimal_places=2),
            f("remark", "备注", "long_text"),
        ]),
        _object("ContactObj", "联系人", [
            f("name", "姓名", "text", required=True, max_length=100),
            f("english_name__c", "英文姓名", "text", max_length=200),
            f("account_id", "客户名称", "object_reference", target="AccountObj"),
            f("tel1", "电话", "phone_number"),
            f("mobile1", "手机", "phone_number"),
            f("email", "邮件", "email"),
            f("job_title", "职务", "text", max_length=100),
            f("department", "部门", "text", max_length=100),
            f("birthday", "生日", "date"),
            f("remark", "备注", "long_text"),
        ]),
        _object("ProductObj", "产品", [
            f("name", "产品名称", "text", required=True, max_length=200),
            f("product_code", "产品编码", "text", required=True, max_length=50),
            f("price", "标准价格", "currency", required=True, decimal_places=2),
            f("unit", "单位", "select_one", options=_opts([(u, u) for u in _UNITS])),
            f("category", "产品分类", "select_one", options=_opts([(g, g) for g in _GROUPS])),
            f("product_status", "上下架", "select_one", options=_opts([("1", "已上架"), ("2", "已下架")])),
            f("barcode", "条形码", "text", max_length=20),
            f("weight__c", "重量(kg)", "number", decimal_places=3),
            f("mc_currency", "币种", "select_one", options=currency),
            f("product_spec", "规格属性", "long_text"),
            # availability from the ERP: the tenant's custom fields (README: setup)
            f("on_hand_quantity__c", "库存数量", "number", decimal_places=2),
            f("available_quantity__c", "可用库存", "number", decimal_places=2),
        ]),
        _object("SalesOrderObj", "销售订单", [
            f("name", "销售订单编号", "auto_number"),
            f("erp_order_no__c", "ERP订单号", "text", max_length=20),
            f("account_id", "客户名称", "object_reference", required=True, target="AccountObj"),
            f("order_time", "下单日期", "date", required=True),
            f("delivery_date", "交货日期", "date"),
            f("order_status", "订单状态", "select_one", options=_opts([(v, k) for k, v in ORDER_STATUS.items()])),
            f("order_amount", "订单金额", "currency", decimal_places=2),
            f("customer_po__c", "客户采购单号", "text", max_length=40),
            f("mc_currency", "币种", "select_one", options=currency),
            f("remark", "备注", "long_text"),
        ]),
        _object("SalesOrderProductObj", "订单产品", [
            f("name", "编号", "auto_number"),
            f("order_id", "销售订单", "master_detail", required=True, target="SalesOrderObj"),
            f("product_id", "产品名称", "object_reference", required=True, target="ProductObj"),
            f("product_code", "产品编码", "quote"),
            f("line_no__c", "行号", "number", decimal_places=0),
            f("quantity", "数量", "number", required=True, decimal_places=3),
            f("unit__c", "单位", "text", max_length=10),
            f("sales_price", "销售单价", "currency", decimal_places=2),
            f("subtotal", "小计", "currency", decimal_places=2),
        ]),
        _object("NewOpportunityObj", "商机2.0", [
            f("name", "商机名称", "text", required=True, max_length=200),
            f("account_id", "客户名称", "object_reference", required=True, target="AccountObj"),
            f("amount", "商机金额", "currency", decimal_places=2),
            f("sales_stage", "阶段", "select_one", options=_opts(SALES_STAGE)),
            f("sales_status", "状态", "select_one", options=_opts([("1", "进行中"), ("2", "赢单"), ("3", "输单")])),
            f("probability", "赢率", "percentile"),
            f("close_date", "预计成交日期", "date", required=True),
            f("mc_currency", "币种", "select_one", options=currency),
            # the ERP order won from the deal: the tenant's custom fields (README: setup)
            f("erp_order_no__c", "ERP订单号", "text", max_length=30),
            f("erp_order_status__c", "ERP订单状态", "select_one",
              options=_opts([(v, k) for k, v in ORDER_STATUS.items()])),
            f("delivery_status__c", "发货状态", "select_one", options=_opts(DELIVERY_STATUS)),
            f("billing_status__c", "开票状态", "select_one", options=_opts(BILLING_STATUS)),
        ]),
        _object("NewOpportunityLinesObj", "商机2.0明细", [
            f("name", "编号", "auto_number"),
            f("new_opportunity_id", "商机2.0", "master_detail", required=True, target="NewOpportunityObj"),
            f("product_id", "产品名称", "object_reference", required=True, target="ProductObj"),
            f("product_code", "产品编码", "quote"),
            f("line_no__c", "行号", "number", decimal_places=0),
            f("quantity", "数量", "number", required=True, decimal_places=3),
            f("sales_price", "销售单价", "currency", decimal_places=2),
            f("subtotal", "小计", "currency", decimal_places=2),
        ]),
        _object("object_invoice__c", "应收发票", [
            f("name", "发票号", "text", required=True, max_length=40),
            f("account_id__c", "客户", "object_reference", target="AccountObj"),
            f("invoice_date__c", "开票日期", "date"),
            f("due_date__c", "到期日", "date"),
            f("amount__c", "金额", "currency", decimal_places=2),
            f("open_amount__c", "未收金额", "currency", decimal_places=2),
            f("status__c", "状态", "select_one", options=_opts([("open", "未付"), ("partially_paid", "部分付款"),
                                                                ("paid", "已付")])),
            f("mc_currency", "币种", "select_one", options=currency),
        ], define_type="custom"),
    ]
    for o in objs:   # the tenant's custom field for Concord's golden id (set up for the integration), except details
        if o["api_name"] not in CONCORD_ID_EXCLUDED:
            fd = f(CONCORD_ID_FIELD, "Concord ID", "text", max_length=64)
            fd["is_unique"] = True
            o["fields"][CONCORD_ID_FIELD] = fd
    return {o["api_name"]: o for o in objs}


#: master -> (detail object, the detail's master_detail field)
DETAILS = {"SalesOrderObj": ("SalesOrderProductObj", "order_id"),
           "NewOpportunityObj": ("NewOpportunityLinesObj", "new_opportunity_id")}


def is_custom(api_name: str) -> bool:
    return api_name.endswith("__c")
