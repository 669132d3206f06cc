"""Scans attached to a status change (a hospital certificate, a 转学联系表…).

The type is sniffed from the first bytes, never taken from the name or the
browser; the size is capped; the bytes are sealed like the record's own
sensitive fields, and served only as a download (attachment + nosniff).
"""
import re
import time

from persistent import Persistent

from xueji_site.kernel.crypto import keyring

MAX_BYTES = 5 * 1024 * 1024
MAX_PER_CHANGE = 10
SIGNATURES = ((b"%PDF-", "application/pdf", "pdf"), (b"\xff\xd8\xff", "image/jpeg", "jpg"),
              (b"\x89PNG\r\n\x1a\n", "image/png", "png"))


class AttachmentError(ValueError):
    """``args[0]``: too-large, wrong-type, too-many or empty."""


def sniff(data):
    for magic, content_type, extension in SIGNATURES:
        if data.startswith(magic):
            return content_type, extension
    raise AttachmentError("wrong-type")


def safe_name(name, extension):
    """A display name without paths or odd characters, ending in the sniffed extension."""
    base = re.sub(r"[^\w\u3400-\u9fff.\-]+", "_", (name or "").replace("\\", "/").rsplit("/", 1)[-1])
    base = base.strip("._")[:60] or "scan"
    return base if base.lower().endswith("." + extension) else "%s.%s" % (base, extension)


class Attachment(Persistent):
    def __init__(self, name, content_type, data, userid, login):
        self.name = name
        self.content_type = content_type
        self.size = len(data)
        self._sealed = keyring().seal_bytes("attachment", data)
        self.added_by = (userid, login)
        self.added_at = time.time()

    def data(self):
        return keyring().open_bytes("attachment", self._sealed)


def attach(change, filename, data, user):
    if not data:
        raise AttachmentError("empty")
    if len(data) > MAX_BYTES:
        raise AttachmentError("too-large")
    if len(change.attachments) >= MAX_PER_CHANGE:
        raise AttachmentError("too-many")
    content_type, extension = sniff(data)
    attachment = Attachment(safe_name(filename, extension), content_type, data, user.userid, user.login)
    change.attachments.append(attachment)
    return attachment
