"""The field inventory of a pupil's record and of a family member (kernel/inventory.py
says what the bases, purposes and retentions mean)."""
from xueji_site.kernel.inventory import ARCHIVE, CONSENT, SCHOOL, STATUTORY, consent_fields, uses

STUDENT = {
    **uses(STATUTORY, "identity", ARCHIVE, "name", "former_name", "gender", "birth_date", "ethnicity",
            "nationality", "id_type", "id_number", "registry_no"),
    **uses(STATUTORY, "identity", SCHOOL, "birthplace", "native_place", "id_valid_until", "hmt_status",
            "household_place", "household_type"),
    **uses(STATUTORY, "enrolment", SCHOOL, "political_status", "provincial_no", "seat_no", "enrolled_on",
            "enrolment_mode", "attendance_mode", "source"),
    **uses(STATUTORY, "health", SCHOOL, "health", "disability", "inclusive"),
    **uses(STATUTORY, "contact", SCHOOL, "current_address", "mailing_address", "home_address", "phone",
            "postcode"),
    **uses(STATUTORY, "support", SCHOOL, "only_child", "preschool", "left_behind", "migrant_child", "orphan",
            "martyr_child", "needs_aid", "boarding_subsidy", "bought_place"),
    **uses(STATUTORY, "safety", SCHOOL, "school_bus", "distance_km", "commute_mode"),
    **uses(STATUTORY, "guardian", SCHOOL, "guardian_name", "guardian_relation", "guardian_id_number",
            "guardian_phone"),
    **uses(CONSENT, "profile", SCHOOL, "specialty", "email"),
}

FAMILY = {
    **uses(STATUTORY, "guardian", SCHOOL, "name", "relation", "is_guardian", "id_type", "id_number", "phone"),
    **uses(STATUTORY, "support", SCHOOL, "ethnicity", "household_place", "address", "employer", "position"),
}


CONSENT_FIELDS = consent_fields(STUDENT)
