"""Automatic tagging: the default taxonomy on the seed digest, the matching rules, validation."""

from __future__ import annotations

import re

import pytest

from digestgen.tagging import (
    TagMatch,
    TagRule,
    TagSettings,
    Taxonomy,
    TaxonomyError,
    default_taxonomy,
    extend_taxonomy,
    match_tags,
    parse_taxonomy,
    score_tags,
    tags_for,
)

from digestgen.parse import parse_digest

from conftest import SEED


def seed_papers() -> list[tuple[str, str]]:
    """(title, abstract) of every paper of the seed listing."""
    return [(p.title, p.abstract) for p in parse_digest(SEED.read_text(encoding="utf-8")).papers]


@pytest.fixture(scope="module")
def taxonomy() -> Taxonomy:
    return default_taxonomy()


@pytest.fixture(scope="module")
def seed_tags(taxonomy: Taxonomy) -> dict[str, set[str]]:
    return {
        title: {match.tag for match in match_tags(title, abstract, taxonomy)}
        for title, abstract in seed_papers()
    }


def tiny(**rules: dict) -> Taxonomy:
    """A taxonomy built from keyword arguments, with underscores in names turned to hyphens."""
    return parse_taxonomy({tag.replace("_", "-"): rule for tag, rule in rules.items()}, "test")


def fired(taxonomy: Taxonomy, text: str) -> set[str]:
    """The tags `text` gets as a title, where one match is enough: for the rules of phrase matching."""
    return {match.tag for match in match_tags(text, "", taxonomy)}


def fired_in_abstract(taxonomy: Taxonomy, abstract: str, title: str = "Untitled") -> set[str]:
    return {match.tag for match in match_tags(title, abstract, taxonomy)}


def written(phrase: str) -> str:
    """Text a phrase matches: its 000 (the size of a named collection) as such a size is written."""
    return phrase.replace("000", "Set, 1,200")


def sense(rule) -> str:
    """A closing sentence with the first word of the rule's sense guard (`needs`), so that its phrases can fire."""
    return f" Words: {rule.needs[0]}." if rule.needs else ""


# ---------------------------------------------------------------------------------------
# The default taxonomy on the seed digest


def test_seed_fixture_has_all_95_papers() -> None:
    papers = seed_papers()
    assert len(papers) == 95
    assert papers[0][0].startswith("CNN Filter DB")
    assert papers[-1][0].startswith("BiPFT")


def test_every_seed_paper_gets_a_tag(seed_tags: dict[str, set[str]]) -> None:
    untagged = [title for title, tags in seed_tags.items() if not tags]
    assert untagged == []


# (title prefix, tags the paper must get, tags it must not get), chosen by reading the abstracts.
SEED_EXPECTATIONS: list[tuple[str, set[str], set[str]]] = [
    (
        "PVT++: A Simple End-to-End Latency-Aware Visual Tracking",
        {"tracking", "computer-vision", "robotics", "efficiency"},
        {"llm", "nlp", "multimodal", "time-series"},
    ),
    (
        "Large Language Models meet Collaborative Filtering",
        {"recommender-systems", "llm"},
        # "collaborative filtering" is about recommendations, not about filtering data
        {"data-filtering", "computer-vision", "tracking"},
    ),
    (
        "Train a Unified Multimodal Data Quality Classifier",
        {"data-filtering", "multimodal", "llm", "synthetic-data", "pre-training"},
        {"recommender-systems", "medical"},
    ),
    (
        "VisionTS++: Cross-Modal Time Series Foundation Model",
        {"time-series", "pre-training"},
        {"llm", "video", "multimodal"},
    ),
    (
        "URLBERT:A Contrastive and Adversarial Pre-trained Model for URL Classification",
        {"security", "contrastive-learning", "pre-training"},
        # "online recommendations" is a use of URLs, not a recommender paper
        {"recommender-systems", "llm", "computer-vision"},
    ),
    (
        "Programming Every Example: Lifting Pre-training Data Quality",
        {"data-filtering", "llm", "pre-training"},
        {"code", "computer-vision"},
    ),
    (
        "BanglaAutoKG: Automatic Bangla Knowledge Graph Construction",
        {"graph-learning", "nlp"},
        # "part-of-speech" is not speech, "graph filtering" is not data filtering
        {"speech", "data-filtering"},
    ),
    (
        "Generative Reasoning Recommendation via LLMs",
        {"recommender-systems", "llm", "reinforcement-learning", "reasoning"},
        {"generative-models", "computer-vision"},
    ),
    (
        "UKBOB: One Billion MRI Labeled Masks",
        {"medical", "3d-vision", "computer-vision", "datasets"},
        # "organs" must not read as "GANs"
        {"generative-models", "llm", "nlp"},
    ),
    (
        "Frozen Transformers in Language Models Are Effective Visual Encoder Layers",
        {"llm", "computer-vision", "3d-vision", "video"},
        # "motion forecasting" is not time-series forecasting
        {"time-series", "nlp"},
    ),
    (
        "RS5M and GeoRSCLIP",
        {"earth-observation", "multimodal", "datasets", "parameter-efficient-tuning"},
        {"medical", "llm"},
    ),
    (
        "ReCIT: Reconstructing Full Private Data from Gradient",
        {"security", "llm", "parameter-efficient-tuning", "federated-learning"},
        {"computer-vision", "multimodal"},
    ),
    (
        "Dual Mean-Teacher: An Unbiased Semi-Supervised Framework for Audio-Visual",
        {"multimodal", "speech", "video", "label-efficient-learning"},
        {"llm", "nlp"},
    ),
    (
        "Data Filtering Networks",
        {"data-filtering", "multimodal", "pre-training"},
        {"nlp", "llm"},
    ),
    (
        "CoLoR-Filter: Conditional Loss Reduction Filtering",
        {"data-filtering", "pre-training", "nlp"},
        {"computer-vision", "multimodal"},
    ),
    (
        "Toxicity of the Commons",
        {"responsible-ai", "data-filtering", "llm"},
        # optical character recognition of old documents is not a vision paper
        {"computer-vision", "medical"},
    ),
    (
        "Benchmarking Filtered Approximate Nearest Neighbor Search",
        {"retrieval", "benchmarks", "datasets"},
        # recommendation, face recognition and audio are only named as applications
        {"recommender-systems", "computer-vision", "speech", "nlp"},
    ),
    (
        "Slight Corruption in Pre-training Data Makes Better Diffusion Models",
        {"generative-models", "pre-training"},
        {"speech", "video"},
    ),
    (
        "Unsupervised Dense Information Retrieval with Contrastive Learning",
        {"retrieval", "contrastive-learning", "nlp"},
        {"computer-vision", "multimodal"},
    ),
    (
        "A Simple Baseline that Questions the Use of Pretrained-Models in Continual",
        {"continual-learning", "computer-vision"},
        {"llm", "nlp"},
    ),
    (
        "LVM-Med: Learning Large-Scale Self-Supervised Vision Models for Medical",
        {"medical", "self-supervised", "contrastive-learning"},
        # vision-language models are only the baseline it beats
        {"multimodal", "llm"},
    ),
    (
        "Revisiting pre-trained remote sensing model benchmarks",
        {"earth-observation", "benchmarks", "self-supervised"},
        {"medical", "multimodal"},
    ),
    (
        "Delving into Masked Autoencoders for Multi-Label Thorax Disease",
        {"medical", "self-supervised", "computer-vision"},
        {"nlp", "generative-models"},
    ),
    (
        "Active Prompt Learning in Vision Language Models",
        {"label-efficient-learning", "multimodal", "parameter-efficient-tuning"},
        {"llm", "nlp"},
    ),
    (
        "Beta-Rank: A Robust Convolutional Filter Pruning Method",
        {"efficiency", "medical"},
        {"llm", "nlp", "data-filtering"},
    ),
    (
        "Regulatory Compliance through Doc2Doc Information Retrieval",
        {"retrieval", "nlp"},
        # "keeping track of legislation" is not object tracking
        {"tracking", "security"},
    ),
    (
        "Position Prediction as an Effective Pretraining Strategy",
        {"speech", "self-supervised", "pre-training"},
        # NLP is named as a field where BERT works, the experiments are vision and speech
        {"nlp", "llm"},
    ),
    (
        "SiT: Self-supervised vIsion Transformer",
        {"self-supervised", "computer-vision"},
        {"nlp", "llm"},
    ),
    (
        "Foundation Models for Generalist Geospatial Artificial Intelligence",
        {"earth-observation", "self-supervised"},
        {"medical", "llm"},
    ),
    (
        "Never Train from Scratch",
        {"benchmarks", "pre-training"},
        {"computer-vision", "multimodal"},
    ),
    (
        "UL2: Unifying Language Learning Paradigms",
        {"nlp", "llm", "reasoning"},
        {"computer-vision", "multimodal"},
    ),
    (
        "P2P: Tuning Pre-trained Image Models for Point Cloud Analysis",
        {"3d-vision", "computer-vision"},
        {"nlp", "llm"},
    ),
    (
        "Diffusion Models Beat GANs on Image Classification",
        {"generative-models", "computer-vision", "transfer-learning"},
        {"nlp"},
    ),
    (
        "Pruning by Explaining",
        {"efficiency", "interpretability"},
        {"nlp", "llm"},
    ),
    (
        "Policy Gradient-Driven Noise Mask",
        {"reinforcement-learning", "medical"},
        # "multi-modal and multi-organ" datasets mix scanner types, not text and images
        {"multimodal"},
    ),
    (
        "KaLM-Embedding-V2",
        {"representation-learning", "nlp", "ensembles", "contrastive-learning"},
        {"computer-vision"},
    ),
    (
        "Open-vocabulary Object Detection via Vision and Language Knowledge Distillation",
        {"computer-vision", "knowledge-distillation", "open-vocabulary", "multimodal"},
        {"nlp", "llm"},
    ),
    (
        "BiPFT: Binary Pre-trained Foundation Transformer",
        {"efficiency", "nlp"},
        # "robustness to hyperparameter changes" is not robustness research
        {"robustness", "computer-vision"},
    ),
    (
        "Model soups",
        {"ensembles", "transfer-learning", "robustness"},
        {"nlp", "multimodal"},
    ),
    (
        "Understanding and Mitigating the Label Noise in Pre-training",
        {"robustness", "pre-training"},
        # "vision and language models" here means vision models and language models
        {"multimodal"},
    ),
    (
        "Learning Transferable Visual Models From Natural Language Supervision",
        {"multimodal", "computer-vision", "zero-shot"},
        {"llm"},
    ),
    (
        "Improved Active Multi-Task Representation Learning via Lasso",
        {"theory", "representation-learning"},
        # "active multi-task learning" picks source tasks, it is not active learning
        {"label-efficient-learning"},
    ),
    (
        "Deep Learning Applied to Image and Text Matching",
        {"multimodal", "retrieval"},
        {"llm"},
    ),
]


def seed_title(seed_tags: dict[str, set[str]], title_prefix: str) -> str:
    titles = [title for title in seed_tags if title.startswith(title_prefix)]
    assert len(titles) == 1, f"{title_prefix!r} should name exactly one seed paper"
    return titles[0]


@pytest.mark.parametrize(
    ("title_prefix", "must_not"),
    [(title, must_not) for title, _, must_not in SEED_EXPECTATIONS],
    ids=[title[:40] for title, _, _ in SEED_EXPECTATIONS],
)
def test_seed_paper_never_gets_a_wrong_tag(seed_tags: dict[str, set[str]], title_prefix: str, must_not: set[str]) -> None:
    title = seed_title(seed_tags, title_prefix)
    assert must_not & seed_tags[title] == set(), f"wrong tags for {title!r}"


def test_seed_papers_get_most_of_their_expected_tags(seed_tags: dict[str, set[str]]) -> None:
    # These expectations were written for the earlier matcher, which gave a tag on any single
    # mention; a passing mention no longer counts, so a floor instead of every tag (the judged
    # set in tests/judged/tags.yaml measures recall properly).
    expected = [(seed_title(seed_tags, title), tag) for title, must, _ in SEED_EXPECTATIONS for tag in must]
    missing = [(title[:40], tag) for title, tag in expected if tag not in seed_tags[title]]
    assert len(missing) <= 0.12 * len(expected), missing


def test_seed_expectations_cover_at_least_25_papers() -> None:
    assert len(SEED_EXPECTATIONS) >= 25


def test_seed_expectations_name_only_real_tags(taxonomy: Taxonomy) -> None:
    known = {rule.tag for rule in taxonomy.rules}
    for _, must, must_not in SEED_EXPECTATIONS:
        assert (must | must_not) - known == set()


# ---------------------------------------------------------------------------------------
# The default taxonomy itself


def test_default_taxonomy_has_a_reasonable_size_and_labels(taxonomy: Taxonomy) -> None:
    assert 25 <= len(taxonomy.rules) <= 45
    for rule in taxonomy.rules:
        assert re.fullmatch(r"[a-z0-9]+(-[a-z0-9]+)*", rule.tag)
        assert rule.label and rule.label != rule.tag
    assert taxonomy.label("computer-vision") == "Computer vision"


def test_every_default_phrase_fires_its_own_tag(taxonomy: Taxonomy) -> None:
    silent = [
        (rule.tag, phrase)
        for rule in taxonomy.rules
        for phrase in rule.phrases
        if not any(s.tag == rule.tag and s.weight > 0 for s in score_tags(f"We study {phrase} here.", sense(rule), taxonomy))
    ]
    assert silent == []


def test_every_default_phrase_not_shared_with_another_tag_fires_alone_in_a_title(taxonomy: Taxonomy) -> None:
    owners: dict[str, int] = {}
    for rule in taxonomy.rules:
        for phrase in set(rule.phrases):
            owners[phrase.lower()] = owners.get(phrase.lower(), 0) + 1
    silent = [
        (rule.tag, phrase)
        for rule in taxonomy.rules
        for phrase in rule.phrases
        if owners[phrase.lower()] == 1 and rule.tag not in fired_in_abstract(taxonomy, sense(rule), f"We study {phrase} here.")
    ]
    assert silent == []


def test_every_default_claim_phrase_fires_its_own_tag_where_the_authors_claim_it(taxonomy: Taxonomy) -> None:
    silent = [
        (rule.tag, phrase)
        for rule in taxonomy.rules
        for phrase in rule.claims
        if rule.tag not in fired_in_abstract(taxonomy, f"We release a large {written(phrase)} for everyone." + sense(rule))
        or rule.tag in fired_in_abstract(
            taxonomy, f"Results on a large {written(phrase)} are shown. Another {written(phrase)} too." + sense(rule)
        )
    ]
    assert silent == []


def test_every_default_sign_fires_its_own_tag_alone_in_a_title(taxonomy: Taxonomy) -> None:
    silent = [
        (rule.tag, phrase)
        for rule in taxonomy.rules
        for phrase in rule.signs
        if rule.tag not in fired_in_abstract(taxonomy, sense(rule), f"Untitled: {phrase}")
    ]
    assert silent == []


def test_every_default_exclude_vetoes_its_own_tag(taxonomy: Taxonomy) -> None:
    useless = [
        (rule.tag, phrase)
        for rule in taxonomy.rules
        for phrase in rule.exclude
        if rule.tag in fired(taxonomy, f"We study {phrase} here.")
    ]
    assert useless == []


# ---------------------------------------------------------------------------------------
# Matching rules


def test_case_is_ignored_for_ordinary_words() -> None:
    taxonomy = tiny(arch={"label": "Architectures", "phrases": ["transformer"]})
    for text in ["A Transformer.", "TRANSFORMER models", "vision transformers"]:
        assert fired(taxonomy, text) == {"arch"}, text


def test_acronyms_match_their_case_only_and_never_inside_words() -> None:
    taxonomy = tiny(gans={"label": "GANs", "phrases": ["GAN"]})
    for text in ["a GAN", "two GANs", "GAN-based synthesis", "(GAN)", "DIFFUSION AND GANS"]:
        assert fired(taxonomy, text) == {"gans"}, text
    for text in ["body organs", "it began", "gan", "Gan et al.", "cGAN", "GANomaly", "orGAN"]:
        assert fired(taxonomy, text) == set(), text


def test_acronym_plurals_count_but_longer_acronyms_do_not() -> None:
    taxonomy = tiny(
        llm={"label": "LLM", "phrases": ["LLM"]},
        mllm={"label": "MLLM", "phrases": ["MLLM"]},
    )
    assert fired(taxonomy, "Recent LLMs are large.") == {"llm"}
    assert fired(taxonomy, "Recent MLLMs see images.") == {"mllm"}
    assert fired(taxonomy, "A-LLMRec is a recommender.") == set()


def test_hyphens_spaces_and_nothing_are_the_same() -> None:
    taxonomy = tiny(pt={"label": "Pre-training", "phrases": ["pre-trained model", "fine-tuning"]})
    for text in [
        "a pre-trained model",
        "a pre trained model",
        "a pretrained model",
        "a Pre-Trained Models",
        "a pre\u2010trained model",  # Unicode hyphen
        "a pre- trained model",  # left over from line-break hyphenation
        "finetuning works",
        "fine tuning works",
    ]:
        assert fired(taxonomy, text) == {"pt"}, text
    assert fired(taxonomy, "a pre-trained modeling approach") == set()
    # punctuation between the words breaks the phrase
    assert fired(taxonomy, "we fine. Tuning is later") == set()


def test_simple_plurals_match() -> None:
    taxonomy = tiny(
        onto={"label": "Ontologies", "phrases": ["ontology"]},
        bias={"label": "Bias", "phrases": ["social bias"]},
        model={"label": "Models", "phrases": ["diffusion model"]},
    )
    assert fired(taxonomy, "two ontologies") == {"onto"}
    assert fired(taxonomy, "measuring social biases") == {"bias"}
    assert fired(taxonomy, "diffusion models") == {"model"}
    assert fired(taxonomy, "diffusion modelling") == set()


def test_whole_words_only() -> None:
    taxonomy = tiny(art={"label": "Art", "phrases": ["art"]})
    assert fired(taxonomy, "state of the art") == {"art"}
    assert fired(taxonomy, "a smart start partly") == set()


def test_exclude_vetoes_only_the_overlapping_mention() -> None:
    taxonomy = tiny(
        speech={"label": "Speech", "phrases": ["speech"], "exclude": ["part-of-speech"]}
    )
    assert fired(taxonomy, "We train part-of-speech taggers.") == set()
    assert fired(taxonomy, "Part of speech tags") == set()
    assert fired(taxonomy, "POS (part-of-speech) tags and speech recognition") == {"speech"}


def test_exclude_in_one_field_does_not_veto_the_other() -> None:
    taxonomy = tiny(ts={"label": "Time series", "phrases": ["forecasting"], "exclude": ["motion forecasting"]})
    matches = match_tags("Weather forecasting", "We also do motion forecasting.", taxonomy)
    assert [(m.tag, m.field) for m in matches] == [("ts", "title")]
    assert match_tags("Motion forecasting", "Motion forecasting again. And motion forecasting.", taxonomy) == ()


def test_one_match_per_tag_title_first_sorted_by_tag() -> None:
    taxonomy = tiny(
        zeta={"label": "Zeta", "phrases": ["robot"]},
        alpha={"label": "Alpha", "phrases": ["drone", "robot"]},
    )
    matches = match_tags("Robots everywhere", "A drone and a robot and a robot.", taxonomy)
    assert [m.tag for m in matches] == ["alpha", "zeta"]
    assert all(m.field == "title" for m in matches)
    assert matches[0].phrase == "robot"


def test_excerpt_shows_the_match_with_some_context() -> None:
    taxonomy = tiny(rl={"label": "RL", "phrases": ["reinforcement learning"]})
    abstract = ("Lorem ipsum dolor sit amet " * 5) + "we use reinforcement learning to " + (
        "train agents in many worlds " * 5
    ) + ". Reinforcement learning again."
    (match,) = match_tags("Untitled", abstract, taxonomy)
    assert match == TagMatch(match.tag, "reinforcement learning", "abstract", match.excerpt, TagSettings().topic_weight)
    assert "reinforcement learning" in match.excerpt
    assert match.excerpt.startswith("…") and match.excerpt.endswith("…")
    assert 40 <= len(match.excerpt) <= 100
    assert "\n" not in match.excerpt


def test_letters_that_grow_when_lower_cased_do_not_shift_matches() -> None:
    taxonomy = tiny(gans={"label": "GANs", "phrases": ["GAN"]})
    (match,) = match_tags("", "İİİ İstanbul study of GANs. And GANs.", taxonomy)
    assert "GANs" in match.excerpt


def test_a_phrase_shared_by_two_tags_supports_both_but_forces_neither() -> None:
    taxonomy = tiny(
        llm={"label": "LLMs", "phrases": ["MLLM", "large language model"]},
        multimodal={"label": "Multimodal", "phrases": ["MLLM", "vision-language"]},
    )
    assert fired(taxonomy, "an MLLM") == set()
    # in the title each tag gets halfway between its half and the whole: still short of a tag
    (score,) = [s for s in score_tags("An MLLM", "", taxonomy) if s.tag == "llm"]
    assert score.weight == 1.5 and not score.fired
    (score,) = [s for s in score_tags("Tuning", "An MLLM is tuned.", taxonomy) if s.tag == "llm"]
    assert score.weight == 0.625  # half of the first sentence's 1.25
    # with its own evidence, each tag the phrase is shared by fires
    assert fired(taxonomy, "An MLLM: a large language model") == {"llm"}
    abstract = "We study MLLMs. They are vision-language models built on a large language model."
    assert fired_in_abstract(taxonomy, abstract, title="An MLLM") == {"llm", "multimodal"}


def test_a_shared_phrase_in_the_title_needs_only_one_more_mention() -> None:
    taxonomy = tiny(
        security={"label": "Security", "phrases": ["jailbreak", "adversarial attack"]},
        safety={"label": "Safety", "phrases": ["jailbreak", "harmful content"]},
    )
    assert fired_in_abstract(taxonomy, "We study prompts.", title="Jailbreaks of chat models") == set()
    # one mention of a tag's own phrase in the abstract tops the title's 1.5 up; the other tag stays short
    abstract = "Models leak secrets. An adversarial attack finds the leak."
    assert fired_in_abstract(taxonomy, abstract, title="Jailbreaks of chat models") == {"security"}
    assert fired_in_abstract(taxonomy, abstract, title="Prompts of chat models") == set()


def test_taxonomy_built_directly_from_rules_matches_too() -> None:
    taxonomy = Taxonomy((TagRule("code", "Code", ("code generation",), ()),))
    assert fired(taxonomy, "Code-generation benchmarks") == {"code"}
    assert taxonomy == Taxonomy((TagRule("code", "Code", ("code generation",), ()),))
    assert taxonomy.label("code") == "Code"
    assert taxonomy.label("unknown-tag") == "unknown-tag"


# ---------------------------------------------------------------------------------------
# tags_for


def test_manual_tags_come_first_in_their_order() -> None:
    taxonomy = tiny(
        robotics={"label": "Robotics", "phrases": ["robot"]},
        medical={"label": "Medical", "phrases": ["clinical"]},
    )
    tags = tags_for("Robots in clinical care", "", taxonomy, manual=("zz-mine", "aa-mine"))
    assert tags == ("zz-mine", "aa-mine", "medical", "robotics")


def test_manual_tag_that_is_also_automatic_appears_once_where_the_user_put_it() -> None:
    taxonomy = tiny(
        robotics={"label": "Robotics", "phrases": ["robot"]},
        medical={"label": "Medical", "phrases": ["clinical"]},
    )
    tags = tags_for("Robots in clinical care", "", taxonomy, manual=("robotics", "robotics"))
    assert tags == ("robotics", "medical")


def test_tags_for_without_manual_tags_is_the_automatic_tags() -> None:
    taxonomy = tiny(robotics={"label": "Robotics", "phrases": ["robot"]})
    assert tags_for("Robots", "No more.", taxonomy) == ("robotics",)
    assert tags_for("Nothing", "at all", taxonomy) == ()


# ---------------------------------------------------------------------------------------
# parse_taxonomy errors


def error_for(data: object) -> str:
    with pytest.raises(TaxonomyError) as raised:
        parse_taxonomy(data, "my-taxonomy.yaml")
    message = str(raised.value)
    assert "\n" not in message
    assert message.startswith("my-taxonomy.yaml: ")
    return message


def test_taxonomy_error_is_a_value_error() -> None:
    assert issubclass(TaxonomyError, ValueError)


def test_a_taxonomy_must_be_a_non_empty_mapping() -> None:
    assert "mapping" in error_for(["llm", "nlp"])
    assert "mapping" in error_for(None)
    assert "no tags" in error_for({})


def test_errors_name_the_offending_tag() -> None:
    assert "'llm'" in error_for({"llm": {"label": "LLMs", "phrases": []}})
    assert "'llm'" in error_for({"llm": {"label": "LLMs"}})
    assert "'llm'" in error_for({"llm": "large language model"})
    assert "'Computer Vision'" in error_for({"Computer Vision": {"phrases": ["image"]}})
    message = error_for({"llm": {"label": "LLMs", "phrases": ["LLM", 42]}})
    assert "'llm'" in message and "42" in message
    assert "'phrase'" in error_for({"llm": {"label": "LLMs", "phrase": ["LLM"]}})


def test_phrases_with_unsupported_characters_are_rejected() -> None:
    message = error_for({"code": {"label": "Code", "phrases": ["C++"]}})
    assert "'code'" in message and "C++" in message


def test_all_problems_are_reported_at_once_on_one_line() -> None:
    message = error_for(
        {
            "Bad Slug": {"label": "Bad", "phrases": ["x"]},
            "ok-tag": {"label": "Fine", "phrases": ["fine"]},
            "empty": {"label": "Empty", "phrases": []},
            "yaml-bool": {"label": "Yes", "phrases": [True]},
        }
    )
    assert message.count("; ") >= 2
    assert "'Bad Slug'" in message and "'empty'" in message and "'yaml-bool'" in message
    assert "'ok-tag'" not in message


def test_label_defaults_to_the_tag_and_exclude_is_optional() -> None:
    taxonomy = parse_taxonomy({"graphs": {"phrases": ["graph neural network"]}}, "inline")
    assert taxonomy.rules == (TagRule("graphs", "graphs", ("graph neural network",), ()),)
    assert taxonomy.settings == TagSettings()
