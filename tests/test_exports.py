import pipeline


def test_all_lists_exactly_the_public_names() -> None:
    public = {name for name in vars(pipeline) if not name.startswith("_")}
    modules = {name for name in public if type(getattr(pipeline, name)).__name__ == "module"}
    assert set(pipeline.__all__) == public - modules
