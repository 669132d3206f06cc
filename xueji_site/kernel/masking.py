"""Masking sensitive values for the screen, the history and the audit log (GB/T 35273)."""


def mask(value, keep_start=4, keep_end=4):
    """``1101**********1234``: the middle hidden, the ends kept."""
    if not value:
        return ""
    if len(value) <= keep_start + keep_end:
        return "*" * len(value)
    return value[:keep_start] + "*" * (len(value) - keep_start - keep_end) + value[-keep_end:]


def mask_field(field, value):
    """Mask ``value`` in the way that suits ``field`` (GB/T 35273 de-identification on screen).

    ID numbers keep 4+4 characters, phones 3+4 digits, addresses their first
    six characters (province, city, district), e-mail its domain; health and
    anything unrecognised are hidden whole.
    """
    value = "" if value is None else str(value)
    if not value:
        return ""
    if field.endswith("address"):
        return value[:6] + "*" * max(len(value) - 6, 3)
    if field.endswith("phone"):
        return mask(value, 3, 4)
    if field == "email" and "@" in value:
        return value[0] + "***@" + value.split("@", 1)[1]
    if field.endswith(("id_number", "registry_no")):
        return mask(value)
    return "******"
