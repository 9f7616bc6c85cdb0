"""contacts.filters.search_contacts: the search box of the list and the API's `q`."""

import pytest

from contacts.filters import search_contacts
from contacts.models import Account, Contact

pytestmark = pytest.mark.django_db


@pytest.fixture
def people():
    anvil = Account.objects.create(name="Anvil Works")
    Contact.objects.bulk_create([
        Contact(email="ana.silva@example.com", first_name="Ana", last_name="Silva"),
        Contact(email="jan@example.com", first_name="Jan", last_name="Berg"),
        Contact(email="sam@example.com", first_name="Sam", last_name="Okafor", account=anvil),
    ])


def found(text) -> list[str]:
    return sorted(search_contacts(Contact.objects.all(), text).values_list("first_name", flat=True))


def test_three_letters_or_more_match_anywhere_in_name_email_or_company(people):
    assert found("ilv") == ["Ana"]
    assert found("AN@EXAMPLE") == ["Jan"]
    assert found("anvil") == ["Sam"]
    assert found("example") == ["Ana", "Jan", "Sam"]


def test_one_or_two_letters_match_the_start_of_a_word_so_an_index_can_answer(people):
    assert found("an") == ["Ana", "Sam"]  # Ana, and Sam's company Anvil; not Jan
    assert found("o") == ["Sam"]  # Okafor
    assert found("  ") == ["Ana", "Jan", "Sam"]
