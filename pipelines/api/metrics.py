"""GET /api/v1/pipelines/{id}/metrics/: a pipeline's metrics, the same numbers as its metrics page.

    ?period=month|quarter|year     this month, quarter or year (the default: this quarter)
    ?from=2026-01-01&to=2026-03-31 any other period, both days included
    ?owner=<user id> | ?team=<team id>   only their deals (people and teams you review)

Both the page and this view read pipelines.metrics.pipeline_metrics through the same query form
(pipelines.views.reports.MetricsQueryForm); the definitions are in pipelines/metrics.py and docs/deals.md.
"""

from django.shortcuts import get_object_or_404
from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.exceptions import ValidationError
from rest_framework.response import Response

from lifecycle.api.views import ApiView
from pipelines.metrics import pipeline_metrics
from pipelines.models import Pipeline
from pipelines.views.reports import MetricsQueryForm
from users.api.permissions import HasRolePermission, HasScope

__all__ = ["PipelineMetricsSerializer", "PipelineMetricsView"]

MONEY = {"max_digits": 20, "decimal_places": 2, "read_only": True}


class StageMetricsSerializer(serializers.Serializer):
    id = serializers.IntegerField(source="stage.pk")
    name = serializers.CharField(source="stage.name")
    position = serializers.IntegerField(source="stage.position")
    probability = serializers.IntegerField(source="stage.probability", help_text="Win probability, %.")
    open_count = serializers.IntegerField(help_text="Open deals in the stage now.")
    open_value = serializers.DecimalField(**MONEY)
    weighted_value = serializers.DecimalField(**MONEY, help_text="Σ value × the stage's probability.")
    entered = serializers.IntegerField(help_text="Deals that entered the stage in the period (each once).")
    advanced = serializers.IntegerField(help_text="Of those, the deals that later entered any later stage.")
    conversion = serializers.FloatField(allow_null=True, help_text="advanced ÷ entered, 0–1; null when none entered.")
    stays = serializers.IntegerField(help_text="Stays in the stage that ended in the period.")
    average_days = serializers.FloatField(allow_null=True, help_text="Their mean length in days.")


class MonthSerializer(serializers.Serializer):
    month = serializers.DateField(help_text="The first day of the month.")
    won = serializers.IntegerField()
    lost = serializers.IntegerField()
    win_rate = serializers.FloatField(allow_null=True, help_text="won ÷ (won + lost), 0–1.")


class PipelineMetricsSerializer(serializers.Serializer):
    pipeline = serializers.IntegerField(source="pipeline.pk")
    start = serializers.DateTimeField(help_text="The period's first moment.")
    end = serializers.DateTimeField(help_text="The first moment after the period.")
    days = serializers.IntegerField(help_text="Days in the period.")
    currency = serializers.CharField(help_text="The currency of most of the open value; values are added as "
                                               "they are.")
    currencies = serializers.ListField(child=serializers.CharField(), help_text="Every currency counted.")
    mixed_currencies = serializers.BooleanField()
    open_count = serializers.IntegerField(help_text="Open deals now.")
    open_value = serializers.DecimalField(**MONEY)
    weighted_open_value = serializers.DecimalField(**MONEY, help_text="Σ value × stage probability.")
    won_count = serializers.IntegerField(help_text="Won in the period.")
    won_value = serializers.DecimalField(**MONEY)
    lost_count = serializers.IntegerField(help_text="Lost in the period.")
    average_deal_size = serializers.DecimalField(**MONEY, allow_null=True, help_text="won_value ÷ won_count.")
    close_ratio = serializers.FloatField(allow_null=True, help_text="won ÷ (won + lost), 0–1.")
    sales_cycle_median_days = serializers.FloatField(allow_null=True, help_text="Created → won, deals won in "
                                                                                 "the period.")
    sales_cycle_mean_days = serializers.FloatField(allow_null=True)
    deal_lifetime_mean_days = serializers.FloatField(allow_null=True, help_text="Created → won or lost.")
    velocity = serializers.DecimalField(**MONEY, allow_null=True,
                                        help_text="Money per day: open × close ratio × average size ÷ mean cycle "
                                                  "days; null without a win in the period.")
    forecast_by_velocity = serializers.DecimalField(**MONEY, allow_null=True, help_text="velocity × days.")
    forecast_weighted = serializers.DecimalField(**MONEY, help_text="Weighted value of the open deals expected "
                                                                    "to close in the period.")
    expected_count = serializers.IntegerField(help_text="Open deals expected to close in the period.")
    expected_value = serializers.DecimalField(**MONEY)
    stages = StageMetricsSerializer(many=True)
    months = MonthSerializer(many=True, help_text="Wins and losses by month: the period's months, at least 12.")


class PipelineMetricsView(ApiView):
    """A pipeline's metrics over the deals the key's user may see."""

    permission_classes = [HasScope, HasRolePermission]
    # For HasRolePermission: reading needs the role's pipelines view permission.
    queryset = Pipeline.objects.all()

    @extend_schema(
        summary="A pipeline's metrics for a period",
        tags=["pipelines"],
        parameters=[
            OpenApiParameter("period", str, enum=["month", "quarter", "year"],
                             description="This month, quarter or year (default: quarter)."),
            OpenApiParameter("from", OpenApiTypes.DATE, description="First day of a custom period (with `to`)."),
            OpenApiParameter("to", OpenApiTypes.DATE, description="Last day of a custom period, included."),
            OpenApiParameter("owner", int, description="Only this user's deals."),
            OpenApiParameter("team", int, description="Only the deals of this team's members."),
        ],
        responses=PipelineMetricsSerializer,
    )
    def get(self, request, pk: int):
        pipeline = get_object_or_404(Pipeline, pk=pk)
        form = MetricsQueryForm(request.query_params, user=request.user)
        if not form.is_valid():
            raise ValidationError({name: list(errors) for name, errors in form.errors.items()})
        period = form.chosen_period()
        metrics = pipeline_metrics(pipeline, start=period.start, end=period.end, user=request.user,
                                   owners=form.owners())
        return Response(PipelineMetricsSerializer(metrics).data)
