"""xueji: a national student registry on Pyramid and ZODB.

``schemas/``, ``views/`` and ``scripts/`` stand at the top level of the checkout
but install as ``xueji_site.schemas``, ``xueji_site.views`` and
``xueji_site.scripts`` so that no generic top-level name lands in site-packages.
"""
from setuptools import find_packages, setup

REQUIRES = [
    "pyramid>=2.0,<2.2",
    "pyramid_chameleon>=0.3",
    "pyramid_tm>=2.5",
    "pyramid_retry>=2.1",
    "pyramid_zodbconn>=0.8",
    "zodburi>=3.0",
    "ZODB>=6.0",
    "BTrees>=6.0",
    "ZEO>=6.0",
    "RelStorage>=4.0",
    "psycopg2-binary>=2.9",
    "transaction>=4.0",
    "colander>=2.0",
    "deform>=3.0",
    "hypatia>=0.5",
    "waitress>=3.0",
    "bcrypt>=4.0",
    "python-stdnum>=1.19",
    "pypinyin>=0.50",
    "opencc-python-reimplemented>=0.1.7",  # traditional ↔ simplified in name search
    "openpyxl>=3.1",
    "defusedxml>=0.7",
    "cryptography>=42",
    "limits>=3.6",     # rate notation ("20/minute") for the per-address counters
    "tqdm>=4.66",
    "Babel>=2.14",
    "pycountry>=22.3",  # GB/T 2659 = ISO 3166-1 codes for 国籍/地区 (names from Babel's CLDR)
    "pyotp>=2.9",      # TOTP second factor
    "pygal>=3.0",      # server-side SVG charts (no CDN, no script)
    "pyramid_mailer>=0.15",  # mail that leaves only when its transaction commits
    "Pillow>=10",      # photos: re-encode uploads, check pixel limits
    "reportlab>=4.2",  # report cards as real PDF with an embedded CJK font
    "segno>=1.5",      # QR codes on verification reports (pure Python, SVG)
    "chinesecalendar>=1.11",  # public holidays and swapped working days (调休) for approval deadlines
    "captcha>=0.5",    # picture challenges on the public certificate check (Pillow-based)
    "pyrage>=1.1",     # age encryption of backups (bindings to the Rust age implementation)
    "setuptools<81",  # pyramid and deform still import pkg_resources
]

TESTS_REQUIRE = [
    "pytest>=8",
    "pytest-timeout>=2.2",
    "WebTest>=3.0",
    "playwright>=1.40",
    "hypothesis>=6.90",
    "freezegun>=1.4",
    "aiosmtpd>=1.4",
    "pip-audit>=2.7",
]

setup(
    name="xueji",
    version="0.1.0",
    description="National student registry (学籍) on Pyramid and ZODB",
    long_description=__doc__,
    python_requires=">=3.10",
    packages=[
        "xueji_site",
        *("xueji_site." + name for name in find_packages("xueji_site")),
        "xueji_site.schemas",
        "xueji_site.views",
        "xueji_site.scripts",
    ],
    package_dir={
        "xueji_site": "xueji_site",
        "xueji_site.schemas": "schemas",
        "xueji_site.views": "views",
        "xueji_site.scripts": "scripts",
    },
    include_package_data=True,
    package_data={
        "xueji_site": ["data/*", "locale/*/LC_MESSAGES/*", "static/*"],
        "xueji_site.views": ["templates/*.pt", "templates/deform/*.pt"],
    },
    zip_safe=False,
    install_requires=REQUIRES,
    extras_require={"test": TESTS_REQUIRE},
    entry_points={
        "paste.app_factory": ["main = xueji_site:main"],
        "console_scripts": [
            "xueji-init = xueji_site.scripts.init:main",
            "xueji-adduser = xueji_site.scripts.adduser:main",
            "xueji-demo = xueji_site.scripts.demo:main",
            "xueji-grades = xueji_site.scripts.grades:main",
            "xueji-serve = xueji_site.scripts.serve:main",
            "xueji-import = xueji_site.scripts.importer:main",
            "xueji-reindex = xueji_site.scripts.reindex:main",
            "xueji-stats = xueji_site.scripts.stats:main",
            "xueji-backup = xueji_site.scripts.backup:main",
            "xueji-verify-audit = xueji_site.scripts.verify_audit:main",
            "xueji-disable-stale = xueji_site.scripts.disable_stale:main",
            "xueji-archive = xueji_site.scripts.archive:main",
            "xueji-retention = xueji_site.scripts.retention:main",
            "xueji-remind = xueji_site.scripts.remind:main",
            "xueji-verify-records = xueji_site.scripts.verify_records:main",
            "xueji-pack = xueji_site.scripts.pack:main",
        ],
    },
)
