from django.db import migrations

# Deals made before positions became sort keys with gaps sit 1 apart: spread every column's open deals
# POSITION_GAP (65,536) apart once, so the first drop between two of them does not renumber the column.
SPREAD = """
UPDATE pipelines_deal d SET position = o.n * 65536
FROM (SELECT id, row_number() OVER (PARTITION BY stage_id ORDER BY position, id) AS n
      FROM pipelines_deal WHERE status = 'open') o
WHERE d.id = o.id
"""


class Migration(migrations.Migration):

    dependencies = [
        ("pipelines", "0004_deal_position_sort_key"),
    ]

    operations = [migrations.RunSQL(SPREAD, migrations.RunSQL.noop)]
