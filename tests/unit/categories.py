"""The public category ids: seed 000's scrap materials and the foods of Decree 248 art. 7."""

SCRAP = [
    "scrap.metal",
    "scrap.plastics",
    "scrap.paper",
    "scrap.textiles",
    "scrap.electronics",
    "scrap.wood",
]
ARTICLE_7 = [
    "food.meat", "food.casings", "food.aquatic", "food.dairy", "food.bird_nest", "food.bee_products",
    "food.eggs", "food.edible_oils", "food.stuffed_pasta", "food.edible_grains", "food.milled_grain",
    "food.vegetables", "food.condiments", "food.nuts_seeds", "food.dried_fruits", "food.coffee_cocoa",
    "food.special_dietary", "food.health_foods",
]  # fmt: skip
