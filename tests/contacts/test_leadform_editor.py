"""The form editor pages under /forms/: new, settings, fields (htmx and plain posts), publish, delete."""

import re
from html import unescape

import pytest
from django.urls import reverse

from contacts.leadforms.builder import leadform_create
from contacts.models import ContactList, CustomField, LeadForm, LeadFormSubmission, Tag
from lifecycle.selectors import active_stages
from pipelines.services import pipeline_create

pytestmark = pytest.mark.django_db


@pytest.fixture
def marketer(client, personas):
    client.force_login(personas.marketer)
    return client


@pytest.fixture
def leadform(personas):
    return leadform_create(name="Pricing ebook", lead_magnet="The pricing ebook", allowed_domains="example.com",
                           created_by=personas.marketer)


def settings_post(leadform, **changes) -> dict:
    data = {"name": leadform.name, "lead_magnet": leadform.lead_magnet, "is_active": "on", "title": "",
            "intro": "", "submit_text": "Download", "consent_text": "", "success_message": "Thanks!",
            "redirect_url": "", "allowed_domains": leadform.allowed_domains, "tags": "", "lifecycle_stage": "",
            "pipeline": "", "deal_owner": "", "min_fill_seconds": "3", "rate_per_ip": "5", "rate_per_form": "120",
            "blocked_email_domains": ""}
    data.update(changes)
    return {key: value for key, value in data.items() if value is not None}


def rows_post(rows, op: str) -> dict:
    data = {"field-count": str(len(rows)), "op": op}
    for index, row in enumerate(rows):
        for key, value in row.items():
            if key == "required":
                if value:
                    data[f"field-{index}-required"] = "on"
            else:
                data[f"field-{index}-{key}"] = value
    return data


EMAIL = {"target": "email", "label": "Email", "required": True}
FIRST = {"target": "first_name", "label": "First name", "required": False}
LAST = {"target": "last_name", "label": "Last name", "required": False}


def row_targets(html: str) -> list[str]:
    """The targets selected in the fields editor, in order."""
    return re.findall(r'<option value="([^"]+)" selected>', html)


# --- Who may edit -----------------------------------------------------------------------------

@pytest.mark.parametrize("persona, status", [("admin", 200), ("marketer", 200), ("manager", 403), ("rep_alice", 403)])
def test_only_admins_and_marketers_open_the_editor(client, personas, leadform, persona, status):
    client.force_login(getattr(personas, persona))
    assert client.get(reverse("leadforms:edit", args=[leadform.pk])).status_code == status
    assert client.get(reverse("leadforms:new")).status_code == status


def test_a_rep_can_post_nothing(client, personas, leadform):
    client.force_login(personas.rep_alice)
    response = client.post(reverse("leadforms:edit", args=[leadform.pk]), settings_post(leadform, name="Hacked"))
    assert response.status_code == 403
    assert "Only admins and marketers can edit forms" in response.content.decode()
    assert client.post(reverse("leadforms:delete", args=[leadform.pk])).status_code == 403
    assert client.post(reverse("leadforms:fields", args=[leadform.pk]), rows_post([EMAIL], "save")).status_code == 403
    leadform.refresh_from_db()
    assert leadform.name == "Pricing ebook" and LeadForm.objects.count() == 1


def test_the_list_links_to_the_editor_only_for_editors(client, personas, leadform):
    client.force_login(personas.marketer)
    edit_url = reverse("leadforms:edit", args=[leadform.pk])
    assert f'href="{edit_url}"' in client.get(reverse("leadforms:list")).content.decode()
    client.force_login(personas.rep_alice)
    html = client.get(reverse("leadforms:list")).content.decode()
    assert f'href="{edit_url}"' not in html and reverse("leadforms:new") not in html


def test_an_unknown_form_is_a_404(marketer):
    for name in ("edit", "delete"):
        assert marketer.get(reverse(f"leadforms:{name}", args=[99999])).status_code == 404
    assert marketer.post(reverse("leadforms:fields", args=[99999]), {"op": "add"}).status_code == 404


# --- New form ---------------------------------------------------------------------------------

def test_the_empty_list_invites_an_editor_to_create_a_form(marketer):
    html = marketer.get(reverse("leadforms:list")).content.decode()
    assert "Create your first form" in html and reverse("leadforms:new") in html


def test_a_marketer_creates_a_form_and_lands_in_the_editor(marketer, personas):
    response = marketer.post(reverse("leadforms:new"), {"name": "Webinar", "lead_magnet": "Webinar 101"})
    form = LeadForm.objects.get()
    assert response.status_code == 302 and response.url == reverse("leadforms:edit", args=[form.pk])
    assert (form.name, form.lead_magnet, form.created_by) == ("Webinar", "Webinar 101", personas.marketer)
    assert list(form.fields.values_list("target", flat=True)) == ["email", "first_name"]


@pytest.mark.parametrize("data, field", [({"name": ""}, "name"), ({"name": "x" * 101}, "name"),
                                         ({"name": "A\x00B"}, "name")])
def test_a_bad_new_form_is_a_400_with_the_message_by_its_field(marketer, data, field):
    response = marketer.post(reverse("leadforms:new"), data)
    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in response.content.decode()
    assert not LeadForm.objects.exists()


# --- Settings ---------------------------------------------------------------------------------

def test_saving_settings_sets_tags_lists_stage_deal_and_spam_rules(marketer, leadform, personas):
    weekly = ContactList.objects.create(name="Weekly", double_opt_in=True)
    pipeline = pipeline_create(name="Inbound", stages=[("New", 10, None)])
    stage = active_stages()[1][1]
    response = marketer.post(reverse("leadforms:edit", args=[leadform.pk]), settings_post(
        leadform, tags="ebook, Pricing ", lists=[str(weekly.pk)], lifecycle_stage=str(stage.pk),
        pipeline=str(pipeline.pk), deal_owner=str(personas.rep_alice.pk), consent_text="I agree",
        min_fill_seconds="5", reject_links="on", redirect_url="https://www.example.com/thanks",
        blocked_email_domains="mailinator.com", is_active=None))
    assert response.status_code == 302
    leadform.refresh_from_db()
    assert sorted(leadform.tags.values_list("name", flat=True)) == ["Pricing", "ebook"]
    assert list(leadform.lists.all()) == [weekly]
    assert (leadform.lifecycle_stage, leadform.pipeline, leadform.deal_owner) == (stage, pipeline, personas.rep_alice)
    assert (leadform.min_fill_seconds, leadform.reject_links, leadform.is_active) == (5, True, False)
    assert leadform.redirect_url == "https://www.example.com/thanks"
    html = marketer.get(reverse("leadforms:edit", args=[leadform.pk])).content.decode()
    assert 'value="ebook, Pricing"' in html and "Weekly (double opt-in)" in html
    assert 'data-testid="publish-inactive"' in html


@pytest.mark.parametrize("changes, field", [
    ({"redirect_url": "https://evil.example/"}, "redirect_url"),
    ({"redirect_url": "javascript:alert(1)"}, "redirect_url"),
    ({"allowed_domains": "not a domain"}, "allowed_domains"),
    ({"min_fill_seconds": "601"}, "min_fill_seconds"),
    ({"min_fill_seconds": "²"}, "min_fill_seconds"),
    ({"rate_per_ip": "0"}, "rate_per_ip"),
    ({"submit_text": ""}, "submit_text"),
    ({"lists": ["99999"]}, "lists"),
    ({"pipeline": "abc"}, "pipeline"),
    ({"intro": "a\x00b"}, "intro"),
])
def test_bad_settings_are_a_400_by_field_and_change_nothing(marketer, leadform, changes, field):
    response = marketer.post(reverse("leadforms:edit", args=[leadform.pk]), settings_post(leadform, **changes))
    assert response.status_code == 400
    assert f'data-testid="error-{field}"' in response.content.decode()
    before = leadform.updated_at
    leadform.refresh_from_db()
    assert leadform.updated_at == before


def test_a_bad_post_keeps_what_was_typed(marketer, leadform):
    response = marketer.post(reverse("leadforms:edit", args=[leadform.pk]),
                             settings_post(leadform, title="My <b>title</b>", redirect_url="https://evil.example/"))
    html = response.content.decode()
    assert 'value="My &lt;b&gt;title&lt;/b&gt;"' in html
    assert "<h1>Pricing ebook" in html  # the heading still shows the saved name


# --- Fields editor ----------------------------------------------------------------------------

def test_htmx_add_appends_an_unused_field_without_saving(marketer, leadform):
    response = marketer.post(reverse("leadforms:fields", args=[leadform.pk]), rows_post([EMAIL, FIRST], "add"),
                             HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200
    assert html.lstrip().startswith('<section class="card mb-4" id="fields-editor"')
    assert row_targets(html) == ["email", "first_name", "last_name"]
    assert 'id="field-2-target" name="field-2-target"\n                          autofocus' in html
    assert leadform.fields.count() == 2  # nothing saved yet


def test_moving_a_field_keeps_focus_on_its_button(marketer, leadform):
    url = reverse("leadforms:fields", args=[leadform.pk])
    html = marketer.post(url, rows_post([EMAIL, FIRST, LAST], "up:2"), HTTP_HX_REQUEST="true").content.decode()
    assert row_targets(html) == ["email", "last_name", "first_name"]
    assert re.search(r'value="up:1"\s+aria-label="Move field 2 up"\s+autofocus', html)
    html = marketer.post(url, rows_post([EMAIL, FIRST, LAST], "up:1"), HTTP_HX_REQUEST="true").content.decode()
    assert row_targets(html) == ["first_name", "email", "last_name"]
    # at the top there is no Up button: the focus goes to the same row's Down button
    assert re.search(r'value="down:0"\s+aria-label="Move field 1 down"\s+autofocus', html)
    html = marketer.post(url, rows_post([EMAIL, FIRST, LAST], "remove:1"), HTTP_HX_REQUEST="true").content.decode()
    assert row_targets(html) == ["email", "last_name"]


@pytest.mark.parametrize("op", ["up:0", "down:1", "remove:5", "up:²", "jump:1", ""])
def test_an_impossible_change_is_a_400_that_keeps_the_rows(marketer, leadform, op):
    response = marketer.post(reverse("leadforms:fields", args=[leadform.pk]), rows_post([EMAIL, FIRST], op),
                             HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert row_targets(response.content.decode()) == ["email", "first_name"]


def test_saving_fields_replaces_them_in_order_and_refreshes_the_html_snippet(marketer, leadform):
    CustomField.objects.create(key="company_size", label="Company size")
    rows = [EMAIL, {"target": "fields.company_size", "label": "Team size", "help_text": "Roughly",
                    "placeholder": "10", "required": True}, FIRST]
    response = marketer.post(reverse("leadforms:fields", args=[leadform.pk]), rows_post(rows, "save"),
                             HTTP_HX_REQUEST="true")
    html = response.content.decode()
    assert response.status_code == 200 and 'data-testid="fields-saved"' in html
    assert list(leadform.fields.values_list("target", "label", "required")) == [
        ("email", "Email", True), ("fields.company_size", "Team size", True), ("first_name", "First name", False)]
    publish = html[html.index('id="publish"'):]
    assert 'hx-swap-oob="true"' in publish and "Team size" in unescape(publish)


@pytest.mark.parametrize("rows, message", [
    ([FIRST], "The form needs an email field."),
    ([EMAIL, FIRST, dict(FIRST)], "is already on the form"),
    ([{**EMAIL, "required": False}], "The email field must be required."),
    ([EMAIL, {"target": "fields.nope", "label": "X"}], "choose what it fills in"),
    ([EMAIL, {"target": "last_name", "label": ""}], "give it a label"),
])
def test_bad_fields_are_a_400_with_messages_and_keep_the_saved_ones(marketer, leadform, rows, message):
    response = marketer.post(reverse("leadforms:fields", args=[leadform.pk]), rows_post(rows, "save"),
                             HTTP_HX_REQUEST="true")
    assert response.status_code == 400
    assert message in unescape(response.content.decode())
    assert list(leadform.fields.values_list("target", flat=True)) == ["email", "first_name"]


def test_without_javascript_the_fields_editor_posts_the_whole_page(marketer, leadform):
    url = reverse("leadforms:fields", args=[leadform.pk])
    response = marketer.post(url, rows_post([EMAIL, FIRST], "add"))
    assert response.status_code == 200 and "<h1>Pricing ebook" in response.content.decode()
    response = marketer.post(url, rows_post([EMAIL, LAST], "save"))
    assert response.status_code == 302 and response.url == reverse("leadforms:edit", args=[leadform.pk])
    assert list(leadform.fields.values_list("target", flat=True)) == ["email", "last_name"]


def test_a_field_count_beyond_the_cap_is_not_trusted(marketer, leadform):
    response = marketer.post(reverse("leadforms:fields", args=[leadform.pk]),
                             {"field-count": "100000000", "op": "add"}, HTTP_HX_REQUEST="true")
    assert response.status_code == 400  # 30 rows is the most a form has: no room to add
    assert response.content.decode().count("data-field-row=") == 30


# --- Publish ----------------------------------------------------------------------------------

def test_the_publish_section_shows_three_snippets_with_copy_buttons(marketer, leadform, settings):
    settings.SITE_URL = "https://crm.example.org"
    html = marketer.get(reverse("leadforms:edit", args=[leadform.pk])).content.decode()
    hosted = f"https://crm.example.org/f/{leadform.public_key}/"
    assert f'value="{hosted}"' in html
    assert f"&lt;script async src=&quot;{hosted}embed.js&quot;" in html
    assert f"action=&quot;{hosted}submit/&quot;" in html
    for target in ("#publish-hosted", "#publish-embed", "#publish-html"):
        assert f'data-copy="{target}"' in html
    assert 'data-testid="publish-no-domains"' not in html


def test_the_publish_section_warns_when_no_domain_is_allowed(marketer):
    form = leadform_create(name="Nowhere")
    html = marketer.get(reverse("leadforms:edit", args=[form.pk])).content.decode()
    assert 'data-testid="publish-no-domains"' in html


def test_hostile_settings_render_escaped_in_the_editor(marketer, leadform):
    leadform.title = '"><img src=x onerror=alert(1)>'
    leadform.save()
    leadform.fields.filter(target="first_name").update(label="<script>alert(1)</script>")
    html = marketer.get(reverse("leadforms:edit", args=[leadform.pk])).content.decode()
    assert "<script>alert(1)" not in html and "<img src=x" not in html


def test_the_editor_page_uses_a_fixed_number_of_queries(marketer, leadform, django_assert_max_num_queries):
    for index in range(5):
        ContactList.objects.create(name=f"List {index}")
        Tag.objects.create(name=f"tag {index}")
    leadform.tags.set(Tag.objects.all())
    with django_assert_max_num_queries(20):
        assert marketer.get(reverse("leadforms:edit", args=[leadform.pk])).status_code == 200


# --- Delete -----------------------------------------------------------------------------------

def test_delete_asks_first_and_says_what_goes(marketer, leadform):
    LeadFormSubmission.objects.create(form=leadform, data={}, submitted_at="2026-01-01T00:00Z")
    html = marketer.get(reverse("leadforms:delete", args=[leadform.pk])).content.decode()
    assert "Its 1 submission record and its daily views are deleted." in html
    assert LeadForm.objects.filter(pk=leadform.pk).exists()
    response = marketer.post(reverse("leadforms:delete", args=[leadform.pk]))
    assert response.status_code == 302 and response.url == reverse("leadforms:list")
    assert not LeadForm.objects.filter(pk=leadform.pk).exists()


def test_analytics_offers_editors_the_editor_and_others_not(client, personas, leadform):
    edit_url = reverse("leadforms:edit", args=[leadform.pk])
    client.force_login(personas.marketer)
    html = client.get(reverse("leadforms:analytics", args=[leadform.pk])).content.decode()
    assert f'href="{edit_url}#publish"' in html and f'href="{edit_url}"' in html
    client.force_login(personas.rep_alice)
    assert edit_url not in client.get(reverse("leadforms:analytics", args=[leadform.pk])).content.decode()


def test_deleting_a_contact_deletes_what_they_sent_and_keeps_the_counts(leadform):
    from contacts.leadforms.stats import form_count
    from contacts.models import Contact, LeadFormDay
    from contacts.services import contact_delete

    contact = Contact.objects.create(email="forget.me@example.com")
    LeadFormSubmission.objects.create(form=leadform, contact=contact, data={"email": contact.email},
                                      ip_address="203.0.113.9", submitted_at="2026-01-01T00:00Z")
    form_count(leadform.pk, views=3, submissions=1)
    contact_delete(contact=contact)
    assert not LeadFormSubmission.objects.filter(data__email="forget.me@example.com").exists()
    assert LeadFormDay.objects.get(form=leadform).submissions == 1
