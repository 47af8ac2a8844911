"""The living demo `make run` seeds: a brand's 120 days of community life, generated from a seed
(`world`, `population`, `life`) and put through the public API (`client`, `seeding`, `today`, `results`)."""
