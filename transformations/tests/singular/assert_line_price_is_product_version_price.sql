-- Source contract and point-in-time join together: a line points at the product version valid
-- when the order was placed, and its unit_price is that version's list price. Returns the lines
-- where not. Lines waiting for their version (an inferred member) are not checked here: the
-- warning-level test not_inferred_member counts them.
select
    lines.order_item_id,
    lines.order_id,
    lines.product_id,
    lines.product_key,
    lines.ordered_at,
    lines.unit_price,
    lines.list_price,
    versions.unit_price as version_price,
    versions.valid_from,
    versions.valid_to
from {{ ref('fct_order_items') }} as lines
left join {{ ref('dim_product') }} as versions
    on lines.product_key = versions.product_key
where
    versions.product_key is null
    or (
        not versions.is_inferred
        and (
            lines.list_price is null
            or lines.unit_price <> lines.list_price
            or lines.unit_price <> versions.unit_price
            or not ({{ valid_at('versions', 'lines.ordered_at') }})
        )
    )
