"""Static files: the vendored libraries are all there, served locally, and survive the production build."""

import re
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import call_command
from django.urls import reverse

VENDOR = Path(settings.BASE_DIR, "static", "vendor")



def test_each_vendored_library_has_its_licence_and_is_listed_in_the_readme():
    readme = (VENDOR / "README.md").read_text()
    folders = [p for p in VENDOR.iterdir() if p.is_dir()]
    assert {p.name for p in folders} == {"bootstrap-5.3.9", "htmx-2.0.11", "sortablejs-1.15.7", "chartjs-4.6.1"}
    for folder in folders:
        assert list(folder.glob("LICENSE*")), folder
        assert f"`{folder.name}/" in readme, folder
        # Only minified files and the licence: no source maps, sources or docs.
        assert all(".min." in f.name or f.name.startswith("LICENSE") for f in folder.iterdir()), folder


def test_no_vendored_file_points_at_a_source_map_that_is_not_there():
    for path in VENDOR.rglob("*.min.*"):
        for name in re.findall(r"sourceMappingURL=(\S+?)(?:\s|\*/|$)", path.read_text()):
            assert (path.parent / name).exists(), f"{path} refers to a missing {name}"


@pytest.mark.django_db
def test_every_script_and_stylesheet_the_pages_load_is_served(client, personas):
    client.force_login(personas.admin)
    html = client.get(reverse("dashboard")).content.decode() + client.get(reverse("contacts:list")).content.decode()
    urls = set(re.findall(r'(?:src|href)="(/static/[^"]+)"', html))
    assert any("htmx" in u for u in urls) and any("chart.umd" in u for u in urls) and any("app.css" in u for u in urls)
    for url in urls:
        response = client.get(url)
        assert response.status_code == 200, url
        response.close()


def test_the_production_static_build_succeeds(settings, tmp_path):
    settings.STATIC_ROOT = tmp_path
    settings.STORAGES = {**settings.STORAGES, "staticfiles": {
        "BACKEND": "whitenoise.storage.CompressedManifestStaticFilesStorage"}}

    call_command("collectstatic", interactive=False, verbosity=0)

    assert (tmp_path / "staticfiles.json").exists()
    assert list(tmp_path.glob("vendor/htmx-2.0.11/htmx.min.*.js"))
