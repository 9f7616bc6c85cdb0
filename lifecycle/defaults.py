"""The stage sets offered out of the box. Used by a data migration, so no model imports here."""

#: Stage sets are data; the first one is active on a new installation.
DEFAULT_STAGE_SETS: dict[str, list[tuple[str, str]]] = {
    "Customer lifecycle": [
        ("Reach & Engage", "First contact: a site visit, an ad, an event. Goal: attention and contact details."),
        ("Nurture & Educate", "Comparing options: the right content, tracked clicks, opens and visits."),
        ("Convert & Close", "Ready to buy: a timely call to action or a sales conversation."),
        ("Support & Grow", "Customers: onboarding, support, upsell, referrals and advocacy."),
    ],
    "Kotler's 5 A's": [("Awareness", ""), ("Appeal", ""), ("Ask", ""), ("Act", ""), ("Advocacy", "")],
    "Journey in 4 steps": [("Inquiry", ""), ("Comparison", ""), ("Purchase", ""), ("Onboarding & Upselling", "")],
}


def ensure_default_stage_sets(StageSet, LifecycleStage):  # noqa: N803 - model classes, possibly historical
    """Create the default stage sets that are missing; activate the first if none is active."""
    for name, stages in DEFAULT_STAGE_SETS.items():
        stage_set, created = StageSet.objects.get_or_create(name=name)
        if created:
            LifecycleStage.objects.bulk_create(
                LifecycleStage(stage_set=stage_set, name=stage, position=index, description=description)
                for index, (stage, description) in enumerate(stages)
            )
    active = StageSet.objects.filter(is_active=True).first()
    if active is None:
        active = StageSet.objects.get(name=next(iter(DEFAULT_STAGE_SETS)))
        active.is_active = True
        active.save(update_fields=["is_active"])
    return active
