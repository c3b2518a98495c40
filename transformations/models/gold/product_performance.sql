-- Product performance: one row per product (current version) with what was sold of it over all
-- time at the prices valid when ordered. Lines of cancelled orders are excluded.
with

products as (

    select * from {{ ref('dim_product') }}
    where is_current

),

order_items as (

    select * from {{ ref('fct_order_items') }}
    where status <> 'cancelled'

),

sales as (

    select
        product_id,
        count(distinct order_id) as order_count,
        sum(quantity) as unit_count,
        sum(gross_amount) as gross_revenue,
        sum(discount_amount) as discount_amount,
        sum(net_amount) as net_revenue,
        min(order_date) as first_order_date,
        max(order_date) as last_order_date
    from order_items
    group by product_id

),

final as (

    select
        products.product_id,
        products.product_key,
        products.sku,
        products.product_name,
        products.category,
        products.unit_price as current_unit_price,
        cast(products.version_number as {{ dbt.type_bigint() }}) as price_versions,
        sales.first_order_date,
        sales.last_order_date,
        cast(coalesce(sales.order_count, 0) as {{ dbt.type_bigint() }}) as order_count,
        cast(coalesce(sales.unit_count, 0) as {{ dbt.type_bigint() }}) as unit_count,
        cast(coalesce(sales.gross_revenue, 0) as {{ type_amount() }}) as gross_revenue,
        cast(coalesce(sales.discount_amount, 0) as {{ type_amount() }}) as discount_amount,
        cast(coalesce(sales.net_revenue, 0) as {{ type_amount() }}) as net_revenue
    from products
    left join sales
        on products.product_id = sales.product_id

)

select * from final
