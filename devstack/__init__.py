"""The developer tooling behind `stepdown`: the dev-stack supervisor, demo data, API client."""
