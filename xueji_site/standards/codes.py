"""National code tables used by the schemas (see shared/reference/domain.md (b)).

Each table is an ordered tuple of (code, label) where the label is a
translation string: the code is what is stored, the label what is shown.
"""
from xueji_site.kernel.i18n import _

GENDER = (("1", _("男")), ("2", _("女")))

# GB 3304-1991 民族名称的罗马字母拼写法和代码; 97/98 as used by the MoE system.
ETHNICITY = tuple((c, _(n)) for c, n in (
    ("01", "汉族"), ("02", "蒙古族"), ("03", "回族"), ("04", "藏族"), ("05", "维吾尔族"),
    ("06", "苗族"), ("07", "彝族"), ("08", "壮族"), ("09", "布依族"), ("10", "朝鲜族"),
    ("11", "满族"), ("12", "侗族"), ("13", "瑶族"), ("14", "白族"), ("15", "土家族"),
    ("16", "哈尼族"), ("17", "哈萨克族"), ("18", "傣族"), ("19", "黎族"), ("20", "傈僳族"),
    ("21", "佤族"), ("22", "畲族"), ("23", "高山族"), ("24", "拉祜族"), ("25", "水族"),
    ("26", "东乡族"), ("27", "纳西族"), ("28", "景颇族"), ("29", "柯尔克孜族"), ("30", "土族"),
    ("31", "达斡尔族"), ("32", "仫佬族"), ("33", "羌族"), ("34", "布朗族"), ("35", "撒拉族"),
    ("36", "毛南族"), ("37", "仡佬族"), ("38", "锡伯族"), ("39", "阿昌族"), ("40", "普米族"),
    ("41", "塔吉克族"), ("42", "怒族"), ("43", "乌孜别克族"), ("44", "俄罗斯族"), ("45", "鄂温克族"),
    ("46", "德昂族"), ("47", "保安族"), ("48", "裕固族"), ("49", "京族"), ("50", "塔塔尔族"),
    ("51", "独龙族"), ("52", "鄂伦春族"), ("53", "赫哲族"), ("54", "门巴族"), ("55", "珞巴族"),
    ("56", "基诺族"), ("97", "其他"), ("98", "外国血统中国籍人士"),
))

# Old names still found in source data, mapped to their current codes.
ETHNICITY_ALIASES = {"毛难族": "36", "毛难": "36", "崩龙族": "46", "崩龙": "46"}

# 证件类型 (MoE registry code table)
ID_TYPE_RESIDENT = "1"
ID_TYPE = (
    ("1", _("居民身份证")),
    ("6", _("香港特区护照/身份证明")),
    ("7", _("澳门特区护照/身份证明")),
    ("8", _("台湾居民来往大陆通行证")),
    ("9", _("境外永久居住证")),
    ("A", _("护照")),
    ("Z", _("其他")),
)

# 学校标识码 category digits (MoE 2011 rules) and the level they imply.
SCHOOL_CATEGORY = (
    ("11", _("幼儿园")), ("21", _("小学")), ("22", _("成人小学")), ("31", _("普通初中")),
    ("32", _("职业初中")), ("33", _("成人初中")), ("34", _("普通高中")), ("35", _("成人高中")),
    ("36", _("中等职业学校")), ("37", _("工读学校")), ("41", _("普通高等学校")),
    ("42", _("成人高等学校")), ("51", _("特殊教育学校")), ("91", _("其他教育机构")),
    ("92", _("其他教育机构")), ("93", _("其他教育机构")),
)

# School level → (first grade number, number of grades). Grades are numbered
# nationally: 1–6 primary, 7–9 junior secondary, 10–12 senior secondary.
LEVEL_PRIMARY, LEVEL_JUNIOR, LEVEL_SENIOR, LEVEL_OTHER = "primary", "junior", "senior", "other"
LEVEL_GRADES = {
    LEVEL_PRIMARY: (1, 6),
    LEVEL_JUNIOR: (7, 3),
    LEVEL_SENIOR: (10, 3),
    LEVEL_OTHER: (1, 12),
}
CATEGORY_LEVEL = {
    "21": LEVEL_PRIMARY, "22": LEVEL_PRIMARY,
    "31": LEVEL_JUNIOR, "32": LEVEL_JUNIOR, "33": LEVEL_JUNIOR, "37": LEVEL_JUNIOR,
    "34": LEVEL_SENIOR, "35": LEVEL_SENIOR, "36": LEVEL_SENIOR,
}
LEVEL_LABELS = {
    LEVEL_PRIMARY: _("小学"), LEVEL_JUNIOR: _("初中"),
    LEVEL_SENIOR: _("高中"), LEVEL_OTHER: _("其他"),
}
GRADE_LABELS = {
    1: _("一年级"), 2: _("二年级"), 3: _("三年级"), 4: _("四年级"), 5: _("五年级"),
    6: _("六年级"), 7: _("初一"), 8: _("初二"), 9: _("初三"),
    10: _("高一"), 11: _("高二"), 12: _("高三"),
}

# GB/T 2260 province-level codes.
PROVINCES = (
    ("11", "北京市"), ("12", "天津市"), ("13", "河北省"), ("14", "山西省"), ("15", "内蒙古自治区"),
    ("21", "辽宁省"), ("22", "吉林省"), ("23", "黑龙江省"), ("31", "上海市"), ("32", "江苏省"),
    ("33", "浙江省"), ("34", "安徽省"), ("35", "福建省"), ("36", "江西省"), ("37", "山东省"),
    ("41", "河南省"), ("42", "湖北省"), ("43", "湖南省"), ("44", "广东省"), ("45", "广西壮族自治区"),
    ("46", "海南省"), ("50", "重庆市"), ("51", "四川省"), ("52", "贵州省"), ("53", "云南省"),
    ("54", "西藏自治区"), ("61", "陕西省"), ("62", "甘肃省"), ("63", "青海省"),
    ("64", "宁夏回族自治区"), ("65", "新疆维吾尔自治区"), ("71", "台湾省"),
    ("81", "香港特别行政区"), ("82", "澳门特别行政区"),
)
PROVINCE_CODES = frozenset(code for code, _name in PROVINCES)


def label(table, code):
    """The label of ``code`` in ``table`` (the code itself when unknown)."""
    for key, text in table:
        if key == code:
            return text
    return code


def school_level(category):
    return CATEGORY_LEVEL.get(category, LEVEL_OTHER)


# -- the full record's code tables (shared/reference/domain.md (b)) ----------
# 港澳台侨外
HMT = tuple((c, _(n)) for c, n in (
    ("00", "否"), ("01", "香港同胞"), ("02", "香港同胞亲属"), ("03", "澳门同胞"), ("04", "澳门同胞亲属"),
    ("05", "台湾同胞"), ("06", "台湾同胞亲属"), ("11", "华侨"), ("12", "侨眷"), ("13", "归侨"),
    ("14", "归侨子女"), ("21", "归国留学人员"), ("31", "非华裔中国人"), ("41", "外籍华裔人"),
    ("51", "外国人"), ("99", "其他"),
))
# 政治面貌 (pupils: mostly 少先队员/团员/群众; the MoE table as given)
POLITICAL = tuple((c, _(n)) for c, n in (("01", "中共党员"), ("02", "中共预备党员"), ("03", "共青团员"), ("13", "群众")))
# 健康状况
HEALTH = tuple((c, _(n)) for c, n in (("10", "健康或良好"), ("20", "一般或较弱"), ("30", "有慢性病"),
                                     ("40", "有生理缺陷"), ("50", "残疾")))
# 残疾类型 (GB/T 26341-2010 categories); "" = none
DISABILITY = tuple((c, _(n)) for c, n in (("1", "视力残疾"), ("2", "听力残疾"), ("3", "言语残疾"),
                                         ("4", "肢体残疾"), ("5", "智力残疾"), ("6", "精神残疾"), ("7", "多重残疾")))
HOUSEHOLD_TYPE = ((("1"), _("农业户口")), ("2", _("非农业户口")))
# 入学方式: 11/12 compulsory; 21–23 senior high; 99 other
ENROLMENT_MODE = tuple((c, _(n)) for c, n in (("11", "就近入学"), ("12", "其他（义务教育）"), ("21", "统一招生考试"),
                                             ("22", "体育特招"), ("23", "艺术特招"), ("99", "其他")))
ATTENDANCE_MODE = (("1", _("走读")), ("2", _("住校")))
SOURCE = (("1", _("正常入学")), ("9", _("其他")))
LEFT_BEHIND = (("0", _("非留守儿童")), ("1", _("单亲外出务工")), ("2", _("双亲外出务工")))
# 上下学方式 (unverified against a national table: a sensible default set)
COMMUTE_MODE = tuple((c, _(n)) for c, n in (("1", "步行"), ("2", "自行车或电动车"), ("3", "公共交通"),
                                           ("4", "校车"), ("5", "家长接送"), ("9", "其他")))
# 家庭成员关系 (unverified: the usual registry choices)
RELATION = tuple((c, _(n)) for c, n in (("11", "父亲"), ("12", "母亲"), ("21", "祖父"), ("22", "祖母"),
                                       ("23", "外祖父"), ("24", "外祖母"), ("31", "兄弟姐妹"),
                                       ("41", "其他亲属"), ("99", "其他")))
YES_NO = (("0", _("否")), ("1", _("是")))
