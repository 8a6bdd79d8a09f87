"""Give existing audit events of bound staff accounts their agency, so that staff see them.

The audit app cannot know the registry's staff bindings (it sits below the registry), so the
registry derives what it knows: a staff account's TOTP enrolment belongs to the agency the
account is bound to (its ``subject`` is the account's user name). Events whose agency cannot
be known (clients, profiles, MitID failures) stay without one: superusers see them.
"""

from django.db import migrations


def derive_agency_ids(apps, schema_editor):
    AuditEvent = apps.get_model("audit", "AuditEvent")
    StaffAgency = apps.get_model("registry", "StaffAgency")
    bindings = dict(StaffAgency.objects.values_list("user__username", "agency__agency_id"))
    events = AuditEvent.objects.filter(action="staff_totp_enrolled", agency_id="")
    for event in events.only("pk", "subject").iterator():
        agency_id = bindings.get(event.subject)
        if agency_id:
            AuditEvent.objects.filter(pk=event.pk).update(agency_id=agency_id)


class Migration(migrations.Migration):
    dependencies = [
        ("registry", "0001_initial"),
        ("audit", "0002_action_choices"),
    ]

    operations = [migrations.RunPython(derive_agency_ids, migrations.RunPython.noop)]
