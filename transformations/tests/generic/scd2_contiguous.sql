{#-
    Validity intervals of an SCD type 2 table, per natural key: every version starts before it
    ends, ends exactly where the next one starts, only the last version is open (valid_to null)
    and is_current marks exactly that version. Returns the offending versions.
-#}
{% test scd2_contiguous(model, key, valid_from='valid_from', valid_to='valid_to', is_current='is_current') %}

with

versions as (

    select
        {{ key }} as entity_key,
        {{ valid_from }} as valid_from,
        {{ valid_to }} as valid_to,
        {{ is_current }} as is_current,
        lead({{ valid_from }}) over (
            partition by {{ key }} order by {{ valid_from }}
        ) as next_valid_from
    from {{ model }}

)

select *
from versions
where
    valid_from is null
    or (valid_to is not null and valid_to <= valid_from)
    or (next_valid_from is null and valid_to is not null)
    or (next_valid_from is not null and (valid_to is null or valid_to <> next_valid_from))
    or is_current is null
    or (is_current and valid_to is not null)
    or (not is_current and valid_to is null)

{% endtest %}
