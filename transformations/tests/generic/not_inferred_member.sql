{#-
    Warning-level: the facts whose dimension key points at an inferred member of `to` (a fact
    waiting for a dimension version not delivered yet, macros/inferred_members.sql). Late
    dimension rows are normal in a real feed, so the count is a warning, not a failure; it goes
    back to 0 once the rows arrive. A count that stays means a fact no delivered version will
    match (for order lines: a price no version of the product had when ordered).
-#}
{% test not_inferred_member(model, column_name, to, field) %}

{{ config(severity='warn') }}

select {{ column_name }}
from {{ model }}
where {{ column_name }} in (
    select {{ field }} from {{ to }}
    where is_inferred
)

{% endtest %}
