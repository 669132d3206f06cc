"""Permission names: the one place they are spelled.

Views name one of these; ACLs grant them to roles only.
"""
VIEW = "view"                  # see a node in listings, its summary, breadcrumbs
VIEW_RECORD = "view-record"    # open a full student record (audited)
VIEW_SENSITIVE = "view-sensitive"  # see ID numbers, phones, addresses unmasked
ADD = "add"                    # add children
EDIT = "edit"                  # change a node's fields
DELETE = "delete"              # remove a node (a pupil's record: only a sysadmin, soon after an entry in error)
MERGE = "merge-records"        # merge two records of one person (possible duplicates)
SHARE = "share"                # grant and revoke local roles on a node
MANAGE_USERS = "manage-users"  # create, lock and reset accounts
AUDIT = "audit"                # read the audit log
REQUEST_CHANGE = "request-change"  # start a status change (学籍异动) for a pupil
GUARDIAN_REQUEST = "guardian-request"  # a guardian asks online: transfer, suspension, resumption
APPROVE_SCHOOL = "approve-school"  # first review of key-field changes (the principal)
APPROVE_BUREAU = "approve-bureau"  # second review (a bureau above the school)
ACCOUNT = "account"            # any logged-in user: change own password, see own places
GRADUATE = "graduate"          # graduate a cohort (school); approve it for senior high (bureau)
TRACK_GRADUATES = "track-graduates"  # record graduates' destinations and contacts
ISSUE_CODE = "issue-verification-code"  # a holder's (or the school's) verification codes
APPROVE_EXPORT = "approve-export"  # approve bulk or external exports of pupils' data (approvals.py)
BREAK_GLASS = "break-glass"    # open one record unmasked for a short time, giving a reason (breakglass.py)
ENTER_GRADES = "enter-grades"  # enter marks for a class (a subject teacher: the subjects assigned to them)
READ_GRADES = "read-grades"    # a class's, school's or bureau's marks, analysis and ranks (staff)
OWN_GRADES = "own-grades"      # one pupil's own results, under the stage's family policy (grades/policy.py)
MANAGE_GRADES = "manage-grades"  # define terms and exams, assign subject teachers, lock marks

# A permission nobody is ever granted: the default for a view that names none,
# so that forgetting a permission denies instead of opening the view to all.
UNSET = "xueji.permission-not-declared"

ALL = (VIEW, VIEW_RECORD, VIEW_SENSITIVE, ADD, EDIT, DELETE, SHARE, MANAGE_USERS, AUDIT, ACCOUNT,
       APPROVE_SCHOOL, APPROVE_BUREAU, REQUEST_CHANGE, GUARDIAN_REQUEST, GRADUATE, TRACK_GRADUATES, ISSUE_CODE,
       APPROVE_EXPORT, BREAK_GLASS, MERGE, ENTER_GRADES, READ_GRADES, OWN_GRADES, MANAGE_GRADES)

# Bundles the registrations grant together.
STRUCTURE_ADMIN = frozenset({VIEW, ADD, EDIT, DELETE, SHARE})  # a bureau, school or class: its own
RECORD_FULL = frozenset({VIEW, VIEW_RECORD, VIEW_SENSITIVE})   # a whole record, unmasked
