"""Development mail: each message a file under ``mail.debug`` (``var/mail``), written
only when the transaction that sent it commits.

pyramid_mailer's own debug mailer ignores ``mail.debug`` (it writes into ``mail/``
under whatever directory the process was started from) and writes at once, even
for a request that is then rolled back or retried. This one keeps the promise of
``mail.py`` in development as SMTP delivery does in production: a message leaves
only with the change it announces, once.
"""
import os
import secrets
import time

import transaction
from transaction.interfaces import NoTransaction


class FileMailer:
    """A pyramid_mailer-compatible mailer writing ``.eml`` files into ``directory``."""

    def __init__(self, directory, default_sender=None, transaction_manager=None):
        self.directory = directory
        self.default_sender = default_sender
        self.transaction_manager = transaction_manager or transaction.manager

    def bind(self, **kw):
        unknown = set(kw) - {"default_sender", "transaction_manager"}
        if unknown:
            raise ValueError("invalid options: %s" % ", ".join(sorted(unknown)))
        return FileMailer(self.directory, kw.get("default_sender", self.default_sender),
                          kw.get("transaction_manager", self.transaction_manager))

    def send(self, message):
        """Queue ``message`` on the current transaction; written when it commits."""
        if not message.sender:
            message.sender = self.default_sender or "xueji@localhost"
        text = message.to_message().as_bytes()
        try:
            txn = self.transaction_manager.get()
        except NoTransaction:  # outside any transaction: nothing to wait for
            self.write(text)
            return
        txn.addAfterCommitHook(self._after_commit, (text,))

    send_immediately = send_to_queue = send

    def _after_commit(self, committed, text):
        if committed:
            self.write(text)

    def write(self, data):
        """One file per message, complete or absent (written aside, then renamed), owner-only."""
        os.makedirs(self.directory, mode=0o700, exist_ok=True)
        name = "%s_%s.eml" % (time.strftime("%Y%m%d%H%M%S"), secrets.token_hex(4))
        final = os.path.join(self.directory, name)
        partial = os.path.join(self.directory, "." + name + ".part")
        fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "wb") as out:
            out.write(data)
        os.replace(partial, final)
        return final


def mail_directory(settings):
    """``mail.debug``, else ``var/mail`` beside the ini file (``here``)."""
    configured = settings.get("mail.debug")
    if configured:
        return configured
    return os.path.join(settings.get("here") or os.getcwd(), "var", "mail")


class NullMailer:
    """``xueji.mailer = none``: every message is dropped. Nothing leaves the process and,
    unlike a test mailer's outbox, nothing piles up in memory."""

    def bind(self, **kw):
        return self

    def send(self, message):
        return None

    send_immediately = send_to_queue = send
