"""Search tokens of a name: runs of up to four characters, and pinyin in full,
as initials and mixed, folded from traditional to simplified (see search/query.py)."""
import functools
import re

from pypinyin import Style, lazy_pinyin, pinyin

MAX_RUN = 4            # longest name substring indexed as a token
MIN_LATIN = 2          # shortest latin prefix searched (one letter matches too much)
MAX_PREFIX_TOKENS = 5000

# Used only when OpenCC is not installed: common name characters.
T2S_FALLBACK = dict(zip(
    "張陳劉楊趙黃吳孫鄭馬羅謝韓馮蕭鄧許呂蘇盧蔣賈葉鍾鐘譚鄒陸顧錢湯應樓歐陽諸葛龍鳳華國偉強傑軒銘鵬濤誠錦樂詩悅靜夢瑤語諾穎瑩曉麗紅軍雲飛東亞蘭艷輝剛寧義賢達維慶萬豐書寶貴愛嬌",
    "张陈刘杨赵黄吴孙郑马罗谢韩冯萧邓许吕苏卢蒋贾叶钟钟谭邹陆顾钱汤应楼欧阳诸葛龙凤华国伟强杰轩铭鹏涛诚锦乐诗悦静梦瑶语诺颖莹晓丽红军云飞东亚兰艳辉刚宁义贤达维庆万丰书宝贵爱娇"))


@functools.lru_cache(maxsize=1)
def _converter():
    try:
        from opencc import OpenCC
    except ImportError:
        return None
    return OpenCC("t2s")


def simplified(text):
    """``text`` with traditional characters folded to simplified ones."""
    converter = _converter()
    if converter is not None:
        return converter.convert(text)
    return "".join(T2S_FALLBACK.get(ch, ch) for ch in text)


def clean(name):
    """Lower-case, simplified, without spaces and the middle dots of minority names."""
    return re.sub(r"[\s·•．.\-]", "", simplified(name or "")).lower()


@functools.lru_cache(maxsize=65536)
def _syllables(name):
    """(full, initials) per character; the surname's other readings too (曾 zeng/ceng)."""
    full = lazy_pinyin(name, errors=lambda chars: list(chars))
    initials = [s[0] for s in full if s]
    surnames = pinyin(name[0], style=Style.NORMAL, heteronym=True)[0] if name else []
    return full, initials, [s for s in surnames if s.isascii()][:3]


def _latin_forms(full, initials):
    """Full pinyin, initials, and "first k syllables full, then initials"."""
    forms = {"".join(full), "".join(initials)}
    for k in range(1, len(full)):
        forms.add("".join(full[:k]) + "".join(initials[k:]))
    return forms


def name_tokens(name):
    """Index tokens of a name (see the module docstring)."""
    name = clean(name)
    if not name:
        return []
    tokens = {name}
    for start in range(len(name)):
        for end in range(start + 1, min(len(name), start + MAX_RUN) + 1):
            tokens.add(name[start:end])
    if not name.isascii():
        full, initials, surnames = _syllables(name)
        for reading in surnames or full[:1]:
            tokens |= _latin_forms([reading] + full[1:], [reading[0]] + initials[1:])
        if len(full) > 1:
            tokens |= _latin_forms(full[1:], initials[1:])
    return sorted(t for t in tokens if t)


