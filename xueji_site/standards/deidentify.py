"""De-identification of what leaves the registry (GB/T 35273; checklist G4): a
name reduced to its surname, a birth date to its month."""


def masked_name(name):
    """The surname's first character and one star (张三 → 张*, 欧阳娜娜 → 欧*):
    one star whatever the length, so that not even the name's length goes out."""
    name = (name or "").strip()
    return name[:1] + "*" if name else ""


def birth_month(value):
    """A birth date generalised to its year and month (2017-03-12 → 2017-03)."""
    return value.strftime("%Y-%m") if value else ""
