"""Evidence-weighted tags: passing mentions, negation, claims, acronyms, other fields' words, the
judged set's floors; and a curator's control: none, extends, drop, settings, source tags, removal,
common tags, --explain-tags and `digestgen taxonomy`."""

from __future__ import annotations

import importlib.util
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from digestgen.build import build_site
from digestgen.config import load_config
from digestgen.errors import DigestgenError
from digestgen.load import load_site
from digestgen.tagging import TagSettings, default_taxonomy, extend_taxonomy, match_tags, parse_taxonomy, score_tags
from digestgen.tagstage import explain, load_taxonomy, tag_site, taxonomy_text

from conftest import REPO


@pytest.fixture(scope="module")
def taxonomy():
    return default_taxonomy()


def tags(title: str, abstract: str, taxonomy) -> set[str]:
    return {m.tag for m in match_tags(title, abstract, taxonomy)}


def bench_module():
    spec = importlib.util.spec_from_file_location("tag_quality", REPO / "bench" / "tag_quality.py")
    module = importlib.util.module_from_spec(spec)
    assert spec.loader is not None
    sys.modules.setdefault("tag_quality", module)  # dataclasses look their module up there
    spec.loader.exec_module(module)
    return module


# ---------------------------------------------------------------------------------------
# The judged set


def test_judged_set_floors() -> None:
    quality = bench_module().measure(default_taxonomy())
    print("\n" + quality.summary())
    assert len(quality.papers) >= 40
    assert quality.precision >= 0.85  # measured 0.850 (0.841 before the first sentence weighed 1.25)
    assert quality.wrong <= 0.02 * quality.shown
    assert quality.missed_per_ten_papers <= 1.5  # measured 1.43


def test_judged_set_names_only_real_tags() -> None:
    known = {rule.tag for rule in default_taxonomy().rules}
    bench = bench_module()
    sets = (bench.JUDGED, bench.HELD_OUT, bench.HELD_OUT_2, bench.FRESH, bench.FRESH_2, bench.FRESH_3, bench.FRESH_4, bench.FRESH_5, bench.FRESH_6,
            bench.FRESH_7, bench.FRESH_8, bench.FRESH_9, bench.FRESH_10)
    entries = [entry for path in sets for entry in bench.judged_papers(path)]
    titles = [entry["title"] for entry in entries]
    assert len(set(titles)) == len(titles)  # no paper is judged twice
    for entry in entries:
        assert set(entry["right"]) - known == set(), entry["title"]
        assert set(entry.get("wrong", ())) - known == set(), entry["title"]
        assert set(entry["right"]) & set(entry.get("wrong", ())) == set(), entry["title"]


# ---------------------------------------------------------------------------------------
# Weighing


def test_one_passing_mention_in_the_abstract_is_not_enough(taxonomy) -> None:
    abstract = (
        "Recommender systems suffer from cold starts. Our model helps. "
        "It also works in few-shot scenarios."
    )
    assert "few-shot" not in tags("Cold-start recommendation", abstract, taxonomy)
    assert "recommender-systems" in tags("Cold-start recommendation", abstract + " Recommender systems gain.", taxonomy)


def test_a_title_match_is_enough(taxonomy) -> None:
    assert "few-shot" in tags("Few-Shot Segmentation of Cells", "", taxonomy)


def test_two_mentions_are_enough(taxonomy) -> None:
    abstract = "Cells are hard. We show results. It works few-shot. Few-shot transfer helps too."
    assert "few-shot" in tags("Cells", abstract, taxonomy)


def test_a_claim_sentence_is_enough_but_a_results_sentence_is_not(taxonomy) -> None:
    claim = "Cells are hard to count. In this paper, we propose a few-shot counting method."
    result = "Cells are hard to count. Experiments show gains in few-shot settings."
    assert "few-shot" in tags("Counting cells", claim, taxonomy)
    assert "few-shot" not in tags("Counting cells", result, taxonomy)


def test_claim_phrases_count_only_for_what_the_authors_made(taxonomy) -> None:
    made = "Counting is hard. We release a new corpus of annotated cell images."
    used = "Counting is hard. Our method is evaluated on a public corpus of cell images."
    assert "datasets" in tags("Counting cells", made, taxonomy)
    assert "datasets" not in tags("Counting cells", used, taxonomy)
    assert "datasets" in tags("CellSet: A Dataset of Cells", "", taxonomy)


@pytest.mark.parametrize(
    "abstract",
    [
        "Cells are hard. Our model works without fine-tuning. It is fast without any further fine-tuning.",
        "Cells are hard. Unlike GANs, our model is stable. Unlike prior GANs, it scales.",
        "Cells are hard. We use rules instead of reinforcement learning. Rather than reinforcement learning, rules.",
        "Cells are hard. It is accurate compared to large language models. It is cheap compared to LLMs.",
        "Cells are hard. We look beyond pre-training. Our method outperforms pre-training. It is pre-training-free.",
    ],
)
def test_negated_and_contrasted_mentions_do_not_count(taxonomy, abstract: str) -> None:
    assert tags("Counting cells", abstract, taxonomy) == set()


def test_than_before_a_number_is_a_quantity_not_a_contrast(taxonomy) -> None:
    counted = "Cells are hard. We train on more than 300M noisy labels. Noisy labels are common."
    assert "robustness" in tags("Counting cells", counted, taxonomy)
    contrasted = "Cells are hard. Ours is better than learning with noisy labels. It beats noisy labels."
    assert "robustness" not in tags("Counting cells", contrasted, taxonomy)


def test_negation_reaches_only_its_own_clause(taxonomy) -> None:
    abstract = "Without labels, reinforcement learning struggles. We study reinforcement learning here."
    assert "reinforcement-learning" in tags("Counting cells", abstract, taxonomy)
    (score,) = [s for s in score_tags("Counting cells", abstract, taxonomy) if s.tag == "reinforcement-learning"]
    assert score.ignored == ()


def test_negated_mentions_are_kept_as_ignored_evidence(taxonomy) -> None:
    scores = {s.tag: s for s in score_tags("Cells", "Cells are hard. It works without fine-tuning.", taxonomy)}
    # fine-tuning is a claim phrase of transfer-learning: the negation is found first
    (ignored,) = scores["transfer-learning"].ignored
    assert ignored.negated_by == "without" and ignored.weight == 0


def test_an_acronym_a_phrase_defines_counts_as_that_phrase(taxonomy) -> None:
    abstract = (
        "Cells are hard. Self-supervised learning (SSL) helps. Prior work evaluates SSL pre-trained models. "
        "SSL needs care."
    )
    (score,) = [s for s in score_tags("Counting cells", abstract, taxonomy) if s.tag == "self-supervised"]
    assert score.fired and [m.phrase for m in score.matches].count("SSL (self-supervised)") == 2


def test_thresholds_are_settings() -> None:
    strict = default_taxonomy(TagSettings(min_weight=3))
    lenient = default_taxonomy(TagSettings(min_weight=1))
    assert "few-shot" not in tags("Few-Shot Segmentation of Cells", "", strict)
    assert "few-shot" in tags("Cells", "Cells are hard. It works few-shot.", lenient)
    own = parse_taxonomy({"cells": {"label": "Cells", "phrases": ["cell"], "min_weight": 5}}, "test")
    assert tags("Cell counting", "A cell. A cell.", own) == set()
    assert tags("Cell counting", "A cell. A cell. A cell. A cell.", own) == {"cells"}


@pytest.mark.parametrize(
    ("title", "abstract"),
    [
        ("A silicon tracker for the upgraded detector", "We describe the silicon tracker and its readout. The tracker has four layers."),
        ("Commissioning the tracker of a collider experiment", "Its pixel layers were aligned with cosmic-ray tracks."),
        ("The canonical ensemble revisited", "We derive the partition function of the canonical ensemble. Ensemble averages follow."),
        ("Fractional distillation of crude oil", "Fractional distillation separates crude oil. We model the distillation column."),
        ("Transformer winding faults in power grids", "Power transformer windings fail. We detect faults from vibration."),
        ("Protein folding in the cytoplasm", "Chaperones assist folding. We measure folding rates in vivo."),
        ("A Markov chain model of queue lengths", "Queues in call centres are modelled as a Markov chain with abandonment."),
        ("Graphene under strain", "We measure the band gap of strained graphene with ARPES."),
        ("Regional warming in climate simulations", "We run an ensemble of 50 simulations. Each ensemble of runs warms."),
        ("Protein language models of antibody stability", "We embed antibodies with a protein language model. It ranks mutants."),
        ("Forgetting curves in human memory", "Participants forget word lists within days. We find that forgetting follows a power law."),
        ("Airborne surveys of forest canopy height", "We map canopy height with airborne LiDAR. LiDAR returns give tree heights."),
        ("Sleep spindles in children", "We recorded EEG in 40 children. Spindle density in the EEG rose with age."),
        ("Photographs of the 1906 earthquake", "We catalogue photographs of damaged buildings. The photographs date the fires."),
        ("Speedup of a lattice QCD solver on GPUs", "We port the solver to GPUs. The speedup is fourfold; the memory footprint halves."),
        ("Graph networks of protein interactions", "We build graph networks of protein interactions in yeast. The graph network is sparse."),
        ("Monetary policy under uncertainty", "Central banks set policy. The policy rule rewards stability; reward and policy interact."),
        ("Distilled water in cell culture media", "We prepare media with distilled water. Distilled water lowers contamination."),
        ("Customer segmentation for retail pricing", "We study customer segmentation. Market segmentation drives pricing."),
        ("A linear-time algorithm for interval scheduling", "We give a linear-time algorithm. The linear-time algorithm is optimal."),
        # other senses of words the vocabulary of recommendation, 3D vision, LLMs, reasoning ... leaves out or guards
        ("Taxes on distilled spirits", "Distilled spirits were taxed in 1791. Distilled spirits were smuggled."),
        ("Structure-from-motion photogrammetry of sea cliffs", "We map cliff retreat by structure-from-motion. Structure-from-motion models give volumes."),
        ("Surface reconstruction of silicon", "We observe the 7x7 surface reconstruction. The surface reconstruction heals at 900 K."),
        ("Memory consistency models of multiprocessors", "We compare consistency models. Weak consistency models reorder stores."),
        ("Novel object recognition in aged mice", "Mice explored objects. Object recognition declined with age; object recognition recovered."),
        ("A few-step synthesis of a zirconium catalyst", "We report a few-step synthesis. The few-step route gives 80% yield."),
        ("Tool use in New Caledonian crows", "Crows make hooked tools. Tool use and tool learning spread between families."),
        ("Math anxiety in fourth graders", "Pupils solved math problems under time pressure. Anxious pupils solved fewer math problems."),
        ("Fact-checking in local newsrooms", "We interviewed editors about fact-checking. Fact-checking takes time."),
        ("A distributed key-value cache for web sessions", "Our key-value cache shards sessions. The key-value cache survives failures."),
        ("Spurious correlations in macroeconomic series", "Trending series show spurious correlations. We test for spurious correlation."),
        ("Heterophily in friendship networks", "Friendships form across groups. Heterophily rises with school size; heterophilous ties last."),
        ("Visual navigation in desert ants", "Ants navigate by the panorama. Visual navigation fails at night."),
        ("Computed tomography of concrete cracks", "We scan cores by computed tomography. Ultrasound imaging confirms the cracks."),
        ("Television audiences and watch time", "Audiences watch less news. Watch time and user interest fell in 2020."),
        ("Circuit breakers in distribution grids", "Circuit breakers isolate faults. Each circuit has two breakers."),
        ("Dexterous manipulation in macaques", "Monkeys grasp small objects. Dexterous manipulation relies on the motor cortex."),
        ("Watermarks in Venetian paper, 1450-1550", "We date sheets by their watermarks. Watermarks changed with each mould."),
        ("Value function iteration in growth models", "We solve the planner's value function. The value function is concave."),
        # other senses the tags' sense guards (`needs`) turn away: a retrieved quantity, a proof with no learner,
        # generated game levels, a pre-training objective named distillation
        ("Neural Retrieval of Cloud Top Height from Lidar Returns", "Clouds are high. We train a network to estimate their height."),
        ("Edge-Colouring Cubic Graphs", "We prove that every bridgeless cubic graph with girth 5 has a 3-edge-colouring."),
        ("Procedurally Generated Dungeons in Roguelike Games", "Players like variety. We study how levels are built and played."),
        ("Pottery of the Bronze Age", "Self-distillation of glazes was common. We study self-distillation and its glazes."),
        # other senses of the words the signs, numbers and trackers of issue 18 read: a solar inverter's and a GPS
        # collar's tracking, a number format's bit width, a radiograph no model reads, a count of county pairs
        ("Maximum Power Point Tracking for Small Wind Turbines", "The controller tracks the power peak. Tracking settles in 2 s."),
        ("GPS Tracking of Migrating White Storks", "We fitted 200 storks with GPS trackers. Tracking lasted three years."),
        ("A 64-Bit Pseudo-Random Generator", "We design a 64-bit generator with a period of 2^128. It passes BigCrush."),
        ("Radiographs of Roman Bronze Coins", "We took radiographs of 300 coins. The radiographs reveal lead cores."),
        ("Rent Control: Evidence from 1,200 County Pairs", "We compare 1,200 county pairs, 2010 to 2024. Rents fell."),
        ("A Key-Value Cache of 500 Million Entries", "Our key-value cache holds 500 million entries on 8B-row tables."),
        ("Eye Tracking Reveals How Children Read", "We recorded gaze over images of text. Eye tracking shows regressions."),
        ("Tracking Wolves Across Two Winters", "We fitted 40 wolves with GPS tracking collars and cameras. Tracking shows wide ranges."),
        ("Camera Traps Reveal Leopard Density", "An occupancy model of 90 camera traps gives a detection probability of 0.3."),
        ("Knee Radiographs Ten Years After Surgery", "Two readers graded radiographs of 300 knees; a regression model related grade to pain."),
        ("A Draft Model Law on Data Protection", "We compare the draft model law with national statutes."),
    ],
)
def test_non_ml_papers_get_no_tag(taxonomy, title: str, abstract: str) -> None:
    assert tags(title, abstract, taxonomy) == set()


@pytest.mark.parametrize(
    ("title", "abstract", "expected"),
    [
        # what researchers call a topic without naming the field: feeds, avatars, context windows, task vectors
        ("Correcting Duration Bias in Short-Video Feed Recommendation", "We model watch time.", {"recommender-systems"}),
        ("Relightable Gaussian Head Avatars from a Phone Video", "We fit avatars.", {"3d-vision", "computer-vision"}),
        ("Extending Context Windows to One Million Tokens", "We insert anchor tokens.", {"llm"}),
        ("4-Bit KV Cache Quantization with Hadamard Rotations", "We rotate keys.", {"llm", "efficiency"}),
        ("Tool-Using Agents That Read API Documentation", "Agents induce schemas.", {"llm"}),
        ("Merging Models by Aligning Task Vectors", "We merge task vectors.", {"ensembles"}),
        ("Speech-to-Speech Translation for Unwritten Languages", "We translate speech.", {"nlp", "speech"}),
        ("Eye Movements Improve Text Simplification", "We simplify sentences.", {"nlp"}),
        ("Scaling Generated Math Problems for Small Models", "We generate problems.", {"reasoning"}),
        ("Delineating Glacier Fronts", "A U-Net segments fronts. The U-Net is trained on radar scenes.", {"computer-vision"}),
    ],
)
def test_a_topic_named_in_the_words_researchers_use_gets_its_tag(
    taxonomy, title: str, abstract: str, expected: set
) -> None:
    assert tags(title, abstract, taxonomy) == expected


@pytest.mark.parametrize(
    ("title", "abstract", "expected"),
    [
        # a language model named only by what exists for language models alone (signs) or by its size in billions
        ("Calendar Invites as a Channel for Prompt Injection", "Assistants that read invites obey hidden orders.", {"llm", "security"}),
        ("Drafting Ahead: Speculative Decoding with Tree-Shaped Drafts", "We verify many drafts at once.", {"llm", "efficiency"}),
        ("Serving a 70B Transformer on Four Consumer GPUs", "We split layers across cards.", {"llm"}),
        ("Browsing Agents Forget What They Read", "We study memory over long sessions.", {"llm"}),
        ("Process Reward Models for Geometry Proofs", "We score each step of a proof.",
         {"llm", "reasoning", "reinforcement-learning"}),
        ("Grading Essays with Qwen2.5", "We compare grades with teachers'.", {"llm"}),
        ("Jailbreaks Hidden in Base64", "Encoded requests slip past refusals.", {"llm"}),
        # an image as input: the broad tag from what is looked at, and tracking and video from a tracker's subject
        ("Fracture Detection in Wrist Radiographs", "A network flags fractures for the radiologist at a hospital.", {"computer-vision", "medical"}),
        ("Tracking Every Pixel Across a Long Video", "We follow points through occlusions.", {"computer-vision", "tracking", "video"}),
        ("Multi-Object Tracking of Cyclists in Races", "Riders look alike. We associate boxes over frames.", {"computer-vision", "tracking", "video"}),
        # a cost stated as a number of bits or a frame rate, a collection counted, a text task and a formal proof
        ("A 3-Bit Weight Format for Phones", "We pack weights of a trained network into 3 bits.", {"efficiency"}),
        ("Lane Detection at 200 Frames per Second", "We propose a small object detector for lanes.", {"computer-vision", "efficiency"}),
        ("Questions About Tide Tables", "We introduce TideQA, 2,300 questions written by harbour pilots.", {"datasets"}),
        ("Drafting Discharge Summaries from Ward Notes", "A system drafts what a clinician checks for each patient.", {"medical", "nlp"}),
        ("Formal Proofs of Olympiad Inequalities", "A prover searches for tactic sequences.", {"reasoning"}),
        ("Quantized Attention Caches for Long Chats", "We store keys in 3 bits.", {"efficiency"}),
        ("Memory-Efficient Training of Graph Neural Networks", "We recompute activations.", {"efficiency", "graph-learning"}),
        ("Vector-Quantized Codes for Speech Tokenizers", "We learn a codebook for speech.", {"speech"}),  # a code, not a cost
        ("Serving Models Trained on 2T Tokens", "We shard weights.", {"llm"}),
        ("Moment Retrieval in Cooking Videos", "We match sentences to segments.", {"multimodal", "video"}),
    ],
)
def test_a_topic_implied_by_what_only_it_has_gets_its_tag(taxonomy, title: str, abstract: str, expected: set) -> None:
    assert tags(title, abstract, taxonomy) == expected


def test_a_sign_is_not_split_with_a_tag_that_lists_it_as_a_phrase() -> None:
    own = parse_taxonomy(
        {
            "serving": {"label": "Serving", "phrases": ["speculative decoding"]},
            "lm": {"label": "LM", "phrases": ["language model"], "signs": ["speculative decoding"]},
            "fast": {"label": "Fast", "phrases": ["speculative decoding"]},
        },
        "test",
    )
    scores = {score.tag: score for score in score_tags("Speculative decoding", "", own)}
    assert scores["lm"].weight == 2  # the whole title weight: a sign is not shared
    assert scores["serving"].weight == scores["fast"].weight == 1.5  # the two that list it as a phrase share it
    assert tags("Speculative decoding", "", own) == {"lm"}


def test_a_zero_in_a_phrase_stands_for_any_number() -> None:
    own = parse_taxonomy({"lm": {"label": "LM", "phrases": ["0B model", "best-of-0"]}}, "test")
    for title in ("An 8B model", "A 1.5B Model", "Two 70B models", "Best-of-64 sampling", "best-of-8"):
        assert tags(title, "", own) == {"lm"}, title
    # a size glued to a name is part of the name, and a number without the rest of the phrase is no match
    for title in ("LAION-5B model cards", "ViT-22B model", "An 8B-row table", "A model of 8 layers"):
        assert tags(title, "", own) == set(), title


def test_digits_that_are_no_number_start_no_number(taxonomy) -> None:
    # "²" and "①" are digits to Python but no number a phrase's 0 stands for
    assert tags("Energy in J/m² across ① and ② sites", "The flux is 3 W/m². Sites ① and ② agree.", taxonomy) == set()


def test_000_in_a_phrase_stands_for_the_size_of_a_named_collection() -> None:
    own = parse_taxonomy({"data": {"label": "Data", "phrases": ["000"]}}, "test")
    for title in ("LongProof, 412 theorems", "RepoForge: 9,000 environments", "We release KinyaRead, 6,400 questions"):
        assert tags(title, "", own) == {"data"}, title
    # a count with no name before it, a small number, a year, a quantity with a unit or a percent sign
    for title in ("We train 280 models", "Suite, 12 tasks", "Between 2010, 2024 and 2025", "Pool, 300% larger",
                  "Net, 128-layer", "Wall time, 1.5 hours"):
        assert tags(title, "", own) == set(), title
    # the default's datasets tag counts it where the authors say what they made, and not as a speed-up
    assert "datasets" in tags("Questions About Tide Tables", "We introduce TideQA, 2,300 questions.", default_taxonomy())
    assert "datasets" not in tags("FastNet", "We propose FastNet, 100 times faster than a ResNet.", default_taxonomy())


def test_a_name_matches_with_a_version_glued_on(taxonomy) -> None:
    for name in ("Qwen2.5", "Qwen2-VL", "Llama3", "Gemma2", "GPT-4"):
        assert "llm" in tags(f"Grading essays with {name}", "", taxonomy), name
    # an acronym takes no version glued on: GPT2 is also a gene, RL10 a rocket engine (GPT-4 is matched as GPT)
    assert "llm" not in tags("GPT2 Deficiency Causes a Neurodevelopmental Disorder", "Loss of the enzyme.", taxonomy)
    assert "reinforcement-learning" not in tags("Combustion Instability in the RL10 Engine", "", taxonomy)
    assert "computer-vision" in tags("Pruning ResNet50", "We prune a trained network.", taxonomy)
    assert tags("Qwen", "", parse_taxonomy({"x": {"label": "X", "phrases": ["qwen"]}}, "test")) == {"x"}
    # only a name written with a capital takes a version: a plain word does not match inside "word2vec"
    plain = parse_taxonomy({"x": {"label": "X", "phrases": ["word"]}}, "test")
    assert tags("word2vec embeddings", "", plain) == set()


def test_convolutions_over_time_or_graphs_are_not_vision(taxonomy) -> None:
    for network in ("temporal convolutional network", "1D convolutional network", "graph convolutional network"):
        assert "computer-vision" not in tags("Fault detection", f"We train a {network} on sensor series.", taxonomy)
    assert "computer-vision" in tags("Fault detection", "We train a convolutional network on photographs.", taxonomy)


def test_a_context_window_of_a_forecaster_is_not_an_llm(taxonomy) -> None:
    abstract = "Forecasters read a context window of past load. A longer context window lowers the error."
    assert "llm" not in tags("Load forecasting with transformers", abstract, taxonomy)
    assert "llm" in tags("Extending the context window of language models", "", taxonomy)


def test_a_benchmark_a_method_was_tested_on_backs_up_a_tag_but_never_gives_it(taxonomy) -> None:
    tested = "We filter web data with a small model. Models trained on it reach 81% on ImageNet. ImageNet gains hold."
    assert "computer-vision" not in tags("Better data filters", tested, taxonomy)
    about = "We study image classification on ImageNet. ImageNet and CIFAR-100 results improve."
    assert "computer-vision" in tags("Counting cells", about, taxonomy)


def test_an_nlp_objective_borrowed_by_a_vision_paper_is_not_nlp(taxonomy) -> None:
    borrowed = (
        "We generalize the masked language modeling of BERT to images. BERT-style pre-training of convnets "
        "then reconstructs masked patches."
    )
    assert "nlp" not in tags("Masked image pre-training for convnets", borrowed, taxonomy)
    assert "nlp" in tags("Counting cells", "We fine-tune BERT for sentiment analysis. BERT is strong.", taxonomy)


def test_a_small_dataset_is_a_data_regime_not_a_dataset(taxonomy) -> None:
    assert "datasets" not in tags("Contrastive Learning for Small Datasets", "", taxonomy)
    assert "datasets" in tags("CellSet: A Dataset of Cells", "", taxonomy)


# ---------------------------------------------------------------------------------------
# A site and its configuration


PAPER = """---
title: {title}
digests: [2025-10-02]
{extra}---
{abstract}
"""


def make_site(tmp_path: Path, config: str, papers: dict[str, tuple[str, str, str]]) -> Path:
    site = tmp_path / "site"
    (site / "content/papers").mkdir(parents=True)
    (site / "content/digests").mkdir(parents=True)
    (site / "digestgen.yaml").write_text("title: T\nbase_url: https://example.org/\n" + config)
    for slug, (title, abstract, extra) in papers.items():
        (site / f"content/papers/{slug}.md").write_text(PAPER.format(title=title, abstract=abstract, extra=extra))
    (site / "content/digests/2025-10-02.yaml").write_text(f"date: 2025-10-02\npapers: [{', '.join(papers)}]\n")
    return site


def tagged(site: Path):
    config, _ = load_config(site, None)
    return tag_site(load_site(site, config), load_taxonomy(site, config))


FEW_SHOT = ("Few-Shot Counting with Diffusion Models", "We propose a diffusion model for few-shot counting.", "")
PHYSICS = ("A silicon tracker for the upgraded detector", "We describe the silicon tracker. Its calorimeter too.", "")


def test_taxonomy_none_turns_tagging_from_the_text_off(tmp_path: Path) -> None:
    site = tagged(make_site(tmp_path, "taxonomy: none\n", {"a": FEW_SHOT}))
    assert site.papers["a"].tags == () and site.tags == ()


def test_an_empty_taxonomy_is_an_error_that_says_how_to_turn_tagging_off(tmp_path: Path) -> None:
    with pytest.raises(DigestgenError, match="taxonomy: none"):
        load_config(make_site(tmp_path, "taxonomy: {}\n", {"a": FEW_SHOT}), None)


def test_extending_the_default_adds_tags_and_phrases_and_drops_tags(tmp_path: Path) -> None:
    config = """taxonomy:
  extends: default
  drop: [generative-models]
  tags:
    particle-physics:
      label: Particle physics
      phrases: [silicon tracker, calorimeter]
    few-shot:
      phrases: [handful of examples]
      label: Learning from few examples
    tracking:
      exclude: [silicon tracker]
"""
    papers = {"a": FEW_SHOT, "b": PHYSICS, "c": ("Cells", "Cells are hard. We propose to learn from a handful of examples.", "")}
    site = tagged(make_site(tmp_path, config, papers))
    assert site.papers["a"].tags == ("few-shot",)  # generative-models dropped
    assert site.papers["b"].tags == ("particle-physics",)  # not object tracking
    assert site.papers["c"].tags == ("few-shot",)  # a phrase added to a default tag
    assert site.tag_label("few-shot") == "Learning from few examples"
    assert site.tag_label("particle-physics") == "Particle physics"
    rules = {rule.tag: rule for rule in load_taxonomy(tmp_path / "site", load_config(tmp_path / "site")[0]).rules}
    assert "one-shot" in rules["few-shot"].phrases and "handful of examples" in rules["few-shot"].phrases
    assert len(rules) == len(default_taxonomy().rules)  # one dropped, one added


def test_an_extension_in_a_file_works_like_one_inline(tmp_path: Path) -> None:
    site_dir = make_site(tmp_path, "taxonomy: tags.yaml\n", {"a": FEW_SHOT, "b": PHYSICS})
    (site_dir / "tags.yaml").write_text("extends: default\ndrop: [few-shot]\ntags:\n  physics: {phrases: [silicon tracker]}\n")
    site = tagged(site_dir)
    assert site.papers["a"].tags == ("generative-models",)
    assert "physics" in site.papers["b"].tags


def test_extension_mistakes_are_one_line_naming_each_problem(tmp_path: Path) -> None:
    config = "taxonomy:\n  extends: defaults\n  drop: [no-such-tag]\n  tags:\n    Bad Slug: {phrases: [x]}\n  add: {}\n"
    site = make_site(tmp_path, config, {"a": FEW_SHOT})
    with pytest.raises(DigestgenError) as raised:
        load_taxonomy(site, load_config(site)[0])
    message = str(raised.value)
    assert "\n" not in message
    for part in ("'defaults'", "no-such-tag", "'Bad Slug'", "'add'"):
        assert part in message


def test_tagging_settings_are_checked_together(tmp_path: Path) -> None:
    config = "tagging:\n  min_weight: -1\n  common_share: 3\n  categories: some\n  keywords: [a]\n"
    with pytest.raises(DigestgenError) as raised:
        load_config(make_site(tmp_path, config, {"a": FEW_SHOT}), None)
    message = str(raised.value)
    for part in ("tagging.min_weight", "tagging.common_share", "tagging.categories", "tagging.keywords"):
        assert part in message


def test_tagging_min_weight_from_the_config_is_used(tmp_path: Path) -> None:
    site = tagged(make_site(tmp_path, "tagging:\n  min_weight: 5\n", {"a": FEW_SHOT}))
    assert site.papers["a"].tags == ()


def test_tagging_result_weight_from_the_config_is_used(tmp_path: Path) -> None:
    # one mention in a results sentence and one in the background: 0.75 + 1 falls short, 1 + 1 does not
    paper = ("Counting cells", "Cells are hard. Experiments show that few-shot counting works. Few-shot is common.", "")
    assert "few-shot" not in tagged(make_site(tmp_path / "a", "", {"a": paper})).papers["a"].tags
    root = make_site(tmp_path / "b", "tagging:\n  result_weight: 1\n", {"a": paper})
    assert "few-shot" in tagged(root).papers["a"].tags
    config, _ = load_config(root, None)
    assert "result_weight: 1" in taxonomy_text(load_taxonomy(root, config), config)


def test_a_paper_can_remove_an_automatic_tag_but_keeps_its_own(tmp_path: Path) -> None:
    extra = "tags: [Diffusion]\nremove_tags: [few-shot, generative-models, diffusion]\n"
    site = tagged(make_site(tmp_path, "", {"a": (FEW_SHOT[0], FEW_SHOT[1], extra)}))
    assert site.papers["a"].tags == ("diffusion",)
    assert "few-shot: removed by hand" in explain(site)


CATEGORISED = ("Counting cells", "Cells are hard.", "categories: [q-bio.QM, cs.CV, cs.LG]\nkeywords: [cell counting, Microscopy]\n")


def test_the_primary_category_becomes_a_tag_with_a_readable_label(tmp_path: Path) -> None:
    site = tagged(make_site(tmp_path, "", {"a": CATEGORISED}))
    assert site.papers["a"].tags == ("q-bio-qm",)
    assert site.tag_label("q-bio-qm") == "Quantitative biology methods"
    assert "q-bio-qm: from the source: category q-bio.QM" in explain(site)


def test_all_categories_map_onto_taxonomy_tags_where_they_match(tmp_path: Path) -> None:
    config = "tagging:\n  categories: all\n  category_tags: {cs.LG: none, q-bio.QM: bioimaging}\n"
    site = tagged(make_site(tmp_path, config, {"a": CATEGORISED}))
    assert site.papers["a"].tags == ("bioimaging", "computer-vision")
    assert site.tag_label("computer-vision") == "Computer vision"


def test_categories_none_and_unknown_categories(tmp_path: Path) -> None:
    unknown = ("X", "Y.", "categories: [zz.NEW]\n")
    assert tagged(make_site(tmp_path / "1", "tagging:\n  categories: none\n", {"a": CATEGORISED})).papers["a"].tags == ()
    site = tagged(make_site(tmp_path / "2", "", {"a": unknown}))
    assert site.papers["a"].tags == ("zz-new",) and site.tag_label("zz-new") == "zz.NEW"


def test_keywords_become_tags_only_when_configured(tmp_path: Path) -> None:
    assert "microscopy" not in tagged(make_site(tmp_path / "1", "", {"a": CATEGORISED})).papers["a"].tags
    site = tagged(make_site(tmp_path / "2", "tagging:\n  keywords: all\n  categories: none\n", {"a": CATEGORISED}))
    assert site.papers["a"].tags == ("cell-counting", "microscopy")
    assert site.tag_label("microscopy") == "Microscopy"
    mapped = "tagging:\n  keywords: {microscopy: imaging}\n  categories: none\n"
    site = tagged(make_site(tmp_path / "3", mapped, {"a": CATEGORISED}))
    assert site.papers["a"].tags == ("imaging",)
    assert "imaging: from the source: keyword Microscopy" in explain(site)


def test_a_tag_on_most_papers_is_common_and_warned_about(tmp_path: Path) -> None:
    papers = {f"p{n}": (f"Diffusion models for task {n}", "We study it.", "") for n in range(8)}
    papers |= {f"q{n}": (f"Robots for chore {n}", "We study it.", "") for n in range(3)}
    site_dir = make_site(tmp_path, "", papers)
    warnings: list[str] = []
    build_site(site_dir, out=tmp_path / "out", warn=warnings.append, workers=1)
    common = [w for w in warnings if "generative-models" in w]
    assert len(common) == 1 and "73%" in common[0] and "8 of 11" in common[0]
    assert not [w for w in warnings if "robotics" in w]
    site = tagged(site_dir)
    assert {t.slug for t in site.tags if t.common} == {"generative-models"}
    assert site.tag("robotics").share == pytest.approx(3 / 11, abs=1e-3) and not site.tag("robotics").common


def test_the_common_share_is_a_setting(tmp_path: Path) -> None:
    papers = {f"p{n}": (f"Diffusion models for task {n}", "We study it.", "") for n in range(8)}
    papers |= {f"q{n}": (f"Robots for chore {n}", "We study it.", "") for n in range(3)}
    site = tagged(make_site(tmp_path, "tagging:\n  common_share: 0.8\n", papers))
    assert {t.slug for t in site.tags if t.common} == frozenset()


def test_explain_shows_weights_every_counted_match_and_what_fell_short(tmp_path: Path) -> None:
    abstract = "Cells are hard. We propose a few-shot method without fine-tuning. Experiments use GANs."
    site_dir = make_site(tmp_path, "", {"a": ("Counting cells", abstract, "")})
    config = load_config(site_dir)[0]
    site = tag_site(load_site(site_dir, config), load_taxonomy(site_dir, config))
    text = explain(site, load_taxonomy(site_dir, config))
    assert "few-shot: weight 2 (needs 2)" in text
    assert "+2 abstract 'few-shot'" in text
    assert "(generative-models: weight 1, needs 2: not given)" in text
    assert "ignored abstract 'fine-tuning' after 'without'" in text


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, "-m", "digestgen", *args], capture_output=True, text=True, timeout=300)


def test_taxonomy_command_prints_the_effective_taxonomy_as_yaml(tmp_path: Path) -> None:
    config = "taxonomy:\n  extends: default\n  drop: [datasets]\n  tags:\n    physics: {label: Physics, phrases: [silicon tracker]}\n"
    site = make_site(tmp_path, config, {"a": FEW_SHOT})
    done = run_cli("taxonomy", "--site", str(site))
    assert done.returncode == 0, done.stderr
    data = yaml.safe_load(done.stdout.split("\n# ", 2)[-1].split("\n", 1)[1])
    assert data["physics"] == {"label": "Physics", "phrases": ["silicon tracker"]}
    assert "datasets" not in data and "few-shot" in data
    settings = yaml.safe_load(done.stdout.split("\n# ")[0])["tagging"]
    assert settings["min_weight"] == 2.0 and settings["categories"] == "primary"
    # what it prints is a taxonomy file digestgen reads back
    assert parse_taxonomy(data, "printed").rules == load_taxonomy(site, load_config(site)[0]).rules


def test_taxonomy_command_says_when_tagging_is_off(tmp_path: Path) -> None:
    done = run_cli("taxonomy", "--site", str(make_site(tmp_path, "taxonomy: none\n", {"a": FEW_SHOT})))
    assert done.returncode == 0 and "taxonomy: none" in done.stdout


def test_build_explain_tags_prints_weights(tmp_path: Path) -> None:
    site = make_site(tmp_path, "", {"a": FEW_SHOT})
    done = run_cli("build", "--site", str(site), "--out", str(tmp_path / "out"), "--explain-tags")
    assert done.returncode == 0, done.stderr
    assert "few-shot: weight 4 (needs 2)" in done.stdout
    assert "+2 title 'few-shot': Few-Shot Counting" in done.stdout


def test_a_tags_own_phrase_wins_over_a_shared_one_it_overlaps() -> None:
    taxonomy = parse_taxonomy(
        {
            "contrastive": {"label": "Contrastive", "phrases": ["contrastive pre-training"]},
            "pre-training": {"label": "Pre-training", "phrases": ["pre-training", "contrastive pre-training"]},
        },
        "test",
    )
    # "contrastive pre-training" is shared (half each), "pre-training" inside it is the tag's own
    assert tags("Contrastive Pre-training of Vision Transformers", "", taxonomy) == {"pre-training"}
    assert tags("Contrastive Pre-training of Vision Transformers", "", default_taxonomy()) >= {"contrastive-learning", "pre-training"}


@pytest.mark.parametrize(
    ("judged", "papers", "precision", "missed", "wrong"),
    [
        # judged after tuning on tests/judged/tags.yaml; both held-out sets have been tuned on since
        ("HELD_OUT", 28, 0.85, 2.6, 0.03),  # measured 0.851 and 2.50 (0.789 and 4.29 before they were tuned on)
        # the last 18 seed papers, judged before the tagger was run on them (and tuned on since)
        ("HELD_OUT_2", 18, 0.88, 4.5, 0.03),  # measured 0.889 and 4.44 (0.867 and 6.67 before)
        # papers of our own in the Hugging Face JSON shape, judged before the tagger was run on them
        ("FRESH", 26, 0.92, 3.1, 0.03),  # measured 0.926 and 3.08 (0.861 and 10.38 the first time, before it was tuned on)
        # 20 more of our own, written after tuning on FRESH
        ("FRESH_2", 20, 0.93, 2.0, 0.03),  # measured 0.932 and 2.00 (0.875 and 12.00 the first time, before it was tuned on)
        # 20 more of our own, written after tuning on FRESH_2 (and tuned on since)
        ("FRESH_3", 20, 0.97, 1.5, 0.03),  # measured 0.971 and 1.50 (0.895 and 9.50 the first time)
        # 32 more of our own, written after tuning on FRESH_3 (and tuned on since)
        # 0.89, not 0.90: the plain noun "diffusion" in a title gives generative-models to "... Fingerprints of Diffusion
        # Decoders", which this set calls defensible (not wrong); it was 0.903 before that rule
        ("FRESH_4", 32, 0.89, 1.3, 0.03),  # measured 0.890 and 1.25 (0.830 and 7.81 the first time, before it was tuned on)
        # 30 more, written and judged blind by someone who never ran the tagger, after all tuning; tuned on since
        # 0.86 still: signs of language models give llm to "SciFigQA", which this set calls defensible (0.869 before)
        ("FRESH_5", 30, 0.86, 2.7, 0.03),  # measured 0.866 and 2.67 (0.809 and 9.33 on its first run, before it was tuned on)
        # 30 more, written blind while FRESH_5 was tuned on and measured once blind (0.712 and 8.33, 7 of 59 clearly
        # wrong); no longer blind: tuned on since, by classes of failure (subject nouns, sense guards, asides)
        # 0.84 still: "speculative decoding", a sign of language models, gives llm to a codec-language-model TTS
        # paper this set calls wrong (0.848 and 3.67 before)
        ("FRESH_6", 30, 0.84, 2.4, 0.03),  # measured 0.845 and 2.33, 1 of 71 clearly wrong
        # 30 and 30 more, written and judged blind (by two engineers who never ran the tagger nor read its
        # phrases) while FRESH_6 was tuned on, and measured once blind on those rules: 0.847 and 9.00 (4 of 59
        # clearly wrong), 0.795 and 9.67 (3 of 44). Their abstracts imply some topics on purpose (a "7B chat model"
        # that is never called a language model). No longer blind: tuned on since (issue 18) by classes of miss,
        # each with probes of its own in other wording: signs of a field (a KV cache or a jailbreak is a language
        # model's, a radiograph an image), numbers in phrases ("an 8B transformer", "LongProof, 412 theorems"),
        # versions glued to names ("Qwen2.5"), and the plain noun "tracking" behind a sense guard.
        ("FRESH_7", 30, 0.88, 3.4, 0.06),  # measured 0.882 and 3.33, 4 of 76 clearly wrong
        ("FRESH_8", 30, 0.87, 3.0, 0.04),  # measured 0.873 and 3.00, 2 of 63 clearly wrong
        # 30 and 30 more, written and judged blind (by two more engineers, the same way) while FRESH_7 and FRESH_8
        # were tuned on, and measured once, blind, on those rules: the floors are those first figures. On the rules
        # before that tuning they gave 0.853 and 12.67 (1 of 34 clearly wrong) and 0.795 and 9.33 (7 of 44).
        # FRESH_9 since: 0.854, a defensible video gone with the review's narrower tracking guard (not tuned on it)
        ("FRESH_9", 30, 0.85, 10.7, 0.03),  # measured 0.854 and 10.67, 1 of 41 clearly wrong
        # FRESH_10 measured 0.780 and 8.00 blind (7 of 50 clearly wrong); since then one wrong tag is fixed (its silicon
        # tracker's "pixel" modules passed the tracking sense guard), so its precision is no longer a blind figure
        ("FRESH_10", 30, 0.81, 8.0, 0.13),  # measured 0.812 and 8.00, 6 of 48 clearly wrong
    ],
)
def test_held_out_judged_set_floors(judged: str, papers: int, precision: float, missed: float, wrong: float) -> None:
    """`wrong`: the share of shown tags that may be clearly wrong."""
    bench = bench_module()
    path = getattr(bench, judged)
    quality = bench.measure(default_taxonomy(), bench.judged_papers(path), bench.judged_source(path))
    print("\n" + quality.summary())
    assert len(quality.papers) >= papers
    assert quality.precision >= precision
    assert quality.wrong <= wrong * quality.shown
    assert quality.missed_per_ten_papers <= missed


def _rl_weight(abstract: str) -> float:
    scores = [s for s in score_tags("Counting cells", abstract, default_taxonomy()) if s.tag == "reinforcement-learning"]
    return scores[0].weight if scores else 0.0


def test_a_list_of_examples_is_a_passing_mention_even_in_a_claim() -> None:
    taxonomy = default_taxonomy()
    listed = "Cells are hard. We study counting on many tasks such as reinforcement learning, parsing and sorting."
    assert _rl_weight(listed) == 1.0
    assert "reinforcement-learning" not in tags("Counting cells", listed, taxonomy)
    for marker in ("e.g.", "for example", "including"):
        assert _rl_weight(listed.replace("such as", marker)) == 1.0, marker
    # the list ends with its clause: what follows is claimed again
    after = "Cells are hard. We study tasks (e.g. parsing) and propose reinforcement learning for counting."
    assert "reinforcement-learning" in tags("Counting cells", after, taxonomy)


def test_an_acronym_in_parentheses_does_not_end_a_list_of_examples() -> None:
    listed = "Transformers serve many fields, including Natural Language Processing (NLP), reinforcement learning."
    assert _rl_weight(listed) == 1.0  # a passing mention, not the first sentence's field (topic_weight)
    # a list in parentheses still ends with them
    assert _rl_weight("Cells are hard. Many tasks (e.g. parsing) need reinforcement learning for counting.") == 1.0
    assert _rl_weight("Reinforcement learning helps (e.g. for parsing) cells.") == TagSettings().topic_weight


def test_the_second_verb_of_the_authors_sentence_is_a_claim() -> None:
    abstract = "Cells are hard. We benchmark several counting methods on this dataset and propose reinforcement learning."
    assert _rl_weight(abstract) == 2.0
    assert "reinforcement-learning" in tags("Counting cells", abstract, default_taxonomy())


def test_the_proposed_method_is_not_a_claim_of_the_sentence() -> None:
    # "we evaluate the proposed ..." reports results; "proposed" is an adjective there
    abstract = "Cells are hard. We evaluate the proposed counter with reinforcement learning on cells."
    assert _rl_weight(abstract) == TagSettings().result_weight  # a sentence that reports an evaluation
    assert _rl_weight(abstract.replace("We evaluate the proposed counter", "We propose a counter")) == 2.0


def test_a_sentence_that_reports_results_weighs_less_than_any_other() -> None:
    background = "Cells are hard. Reinforcement learning counts cells."
    assert _rl_weight(background) == 1.0
    for results in (
        "Cells are hard. Experiments show that our counter helps reinforcement learning agents on cells.",
        "Cells are hard. We compare our counter with reinforcement learning on cells.",
        "Cells are hard. Our counter achieves the best accuracy on reinforcement learning benchmarks.",
        "Cells are hard. We conduct extensive experiments on reinforcement learning tasks.",
    ):
        assert _rl_weight(results) == TagSettings().result_weight < 1.0, results
    # two passing mentions in the results no longer make a tag
    twice = "Cells are hard. Experiments show gains in reinforcement learning. We compare with reinforcement learning."
    assert "reinforcement-learning" not in tags("Counting cells", twice, default_taxonomy())
    # the first sentence names the field even when it reports a result
    assert _rl_weight("Reinforcement learning achieves much. Cells are hard.") == TagSettings().topic_weight


def test_a_study_of_the_performance_is_not_a_claim() -> None:
    assert _rl_weight("Cells are hard. We study reinforcement learning for counting.") == 2.0
    assert _rl_weight("Cells are hard. This paper studies reinforcement learning for counting.") == 2.0
    assert _rl_weight("Cells are hard. This paper addresses reinforcement learning for counting.") == 2.0
    # "we study the performance of ..." is an evaluation: what follows is mentioned in passing
    assert _rl_weight("Cells are hard. We study the performance of this counter in reinforcement learning.") == 1.0


def test_the_object_of_a_claim_reaches_past_aim_to_and_a_generic_head() -> None:
    taxonomy = default_taxonomy()

    def fine_tuning_counts(abstract: str) -> bool:
        return "transfer-learning" in tags("Counting cells", abstract, taxonomy)

    assert fine_tuning_counts("Cells are hard. We aim to study fine-tuning for counting.")
    assert fine_tuning_counts("Cells are hard. This paper aims to understand fine-tuning on cells.")
    assert fine_tuning_counts("Cells are hard. We focus on fine-tuning of counters.")
    assert fine_tuning_counts("Cells are hard. We introduce a framework for the fine-tuning of counters.")
    assert fine_tuning_counts("Cells are hard. We address the problem of fine-tuning counters.")
    # a preposition inside a compound word does not end the object, and the ten-word cap counts from the topic
    assert fine_tuning_counts("Cells are hard. We propose a state-of-the-art counter fine-tuned per cell.")
    assert fine_tuning_counts(
        "Cells are hard. This paper introduces a first-of-a-kind framework for the efficient pre-training and "
        "fine-tuning of counters."
    )
    # a preposition after a head noun that says something still ends the object
    assert not fine_tuning_counts("Cells are hard. We introduce a counter for cells after fine-tuning.")
    assert not fine_tuning_counts("Cells are hard. We propose a counter trained with fine-tuning.")


def test_a_claim_phrase_outside_a_claim_backs_up_other_evidence_only() -> None:
    taxonomy = default_taxonomy()
    alone = "Cells are hard. Counters are fine-tuned. Fine-tuning helps. Fine-tuning on cells helps more."
    assert "transfer-learning" not in tags("Counting cells", alone, taxonomy)
    backed = "Cells are hard. Transfer learning helps counters. Fine-tuning helps. Fine-tuning on cells helps more."
    score = next(s for s in score_tags("Counting cells", backed, taxonomy) if s.tag == "transfer-learning")
    assert score.fired and score.weight == 2.0
    assert [m.weight for m in score.matches] == [1.0, 0.5, 0.5]
    # however many there are, they add at most one plain mention's weight
    many = backed + " Fine-tuning is all. Fine-tuning again. Fine-tuned models."
    assert next(s for s in score_tags("Counting cells", many, taxonomy) if s.tag == "transfer-learning").weight == 2.0


def test_support_phrases_of_a_site_taxonomy_never_give_a_tag_alone() -> None:
    taxonomy = parse_taxonomy(
        {"cells": {"label": "Cells", "phrases": ["cell counting"], "support": ["microscope"]}}, "test"
    )
    assert tags("A paper", "Microscopes help. A microscope is used. Microscope images.", taxonomy) == set()
    assert tags("A paper", "Cell counting matters. A microscope is used. Microscope images.", taxonomy) == {"cells"}
    assert taxonomy.describe()["cells"]["support"] == ["microscope"]


# ---------------------------------------------------------------------------------------
# A tag within a wider one


def test_a_part_of_a_field_gives_the_field(taxonomy) -> None:
    scores = {s.tag: s for s in score_tags("Neural Radiance Fields for City Blocks", "", taxonomy) if s.fired}
    assert {"3d-vision", "computer-vision"} <= set(scores)
    (implied,) = scores["computer-vision"].matches
    assert (implied.field, implied.phrase, implied.weight) == ("tag", "3d-vision", 2.0)
    # the physics tracker is no object tracking, so it gives no computer vision either
    assert tags("A silicon tracker for the upgraded detector", "We describe the silicon tracker.", taxonomy) == set()


def test_a_field_with_its_own_evidence_keeps_its_weight(taxonomy) -> None:
    abstract = "Scenes are hard. We propose a vision transformer for depth. Its computer vision backbone is small."
    scores = {s.tag: s for s in score_tags("Novel View Synthesis with a Vision Transformer", abstract, taxonomy)}
    assert scores["3d-vision"].fired  # the part that would give computer-vision fires too
    score = scores["computer-vision"]
    assert score.fired and all(match.field != "tag" for match in score.matches)


def test_within_is_printed_and_kept_by_an_extension(taxonomy) -> None:
    assert taxonomy.describe()["3d-vision"]["within"] == "computer-vision"
    extended = extend_taxonomy(taxonomy, {"extends": "default", "tags": {"3d-vision": {"phrases": ["voxel grid"]}}}, "x")
    assert {rule.tag: rule for rule in extended.rules}["3d-vision"].within == "computer-vision"
    assert "computer-vision" in tags("Voxel grids for scenes", "", extended)


def test_within_must_name_another_tag_of_the_taxonomy() -> None:
    with pytest.raises(ValueError) as raised:
        parse_taxonomy({"a": {"phrases": ["x"], "within": "b"}, "c": {"phrases": ["y"], "within": "c"}}, "t.yaml")
    message = str(raised.value)
    assert "'a' is within 'b'" in message and "tag 'c' has within 'c'" in message and "\n" not in message


def test_explain_tags_names_the_part_that_gave_a_field(tmp_path: Path) -> None:
    site = tagged(make_site(tmp_path, "", {"a": ("Neural Radiance Fields for City Blocks", "Cities are big.", "")}))
    assert "computer-vision" in site.papers["a"].tags
    assert "+2 tag '3d-vision': 3D vision: a part of Computer vision" in explain(site)


def test_a_side_claim_weighs_as_background(taxonomy) -> None:
    main = "Search is hard. We release a benchmark of 3,000 annotated queries."
    side = "Search is hard. We also release a benchmark of 3,000 annotated queries."
    assert "benchmarks" in tags("Hybrid search", main, taxonomy)
    assert "benchmarks" not in tags("Hybrid search", side, taxonomy)


def test_what_comes_before_a_claim_is_its_means(taxonomy) -> None:
    means = "Data matters. By exploiting a dataset with noisy labels, we investigate how vision models scale."
    claim = "Data matters. We investigate how vision models learn from noisy labels."
    assert "robustness" not in tags("Data at scale", means, taxonomy)
    assert "robustness" in tags("Data at scale", claim, taxonomy)


@pytest.mark.parametrize("verb", ["train", "pre-train", "learn"])
def test_we_train_says_what_the_authors_made(taxonomy, verb: str) -> None:
    assert "llm" in tags("Bytes", f"Tokenizers are brittle. We {verb} language models directly on bytes.", taxonomy)


def test_a_passive_mention_of_training_is_no_claim(taxonomy) -> None:
    assert "llm" not in tags("Bytes", "Tokenizers are brittle. Language models are trained on tokens.", taxonomy)


def test_we_prove_is_the_claim_of_a_theory_paper(taxonomy) -> None:
    assert "theory" in tags("Oversmoothing", "Graphs are deep. Viewing attention as diffusion, we prove that it contracts.", taxonomy)
    (score,) = [s for s in score_tags("Graphs", "Graphs are deep. We prove that attention contracts.", taxonomy) if s.tag == "theory"]
    assert score.weight == TagSettings().claim_weight


@pytest.mark.parametrize(
    ("title", "abstract", "expected"),
    [
        # a plain subject noun in the title is a claim: videos, diffusion, a latency, a coined benchmark name
        ("Long-Form Question Answering over Lecture Videos", "Students ask about lectures. We answer them.", "video"),
        ("Masked Discrete Diffusion for Protein Sequences", "Proteins are sequences. We denoise them.", "generative-models"),
        ("Simultaneous Interpretation with 300 ms Latency", "Interpreters lag. We cut the lag.", "efficiency"),
        ("CodeRepairBench: Repository-Level Repair Tasks", "Repairs are hard. We collect tasks.", "benchmarks"),
        ("Probing Speech Encoders for Phonetic Features", "Encoders hide phonetics. We read them out.", "interpretability"),
        ("Synthetic Tables Teach Table Question Answering", "Tables are scarce. We train on made-up data.", "synthetic-data"),
        # topics named in their field's own words: language models that think and call tools, sycophancy, exploration
        ("Pruning Redundant Thinking Tokens", "Long chains waste compute. We prune them.", "llm"),
        ("Evaluating Tool Calling Under Schema Drift", "APIs change. We measure failures.", "llm"),
        ("Sycophantic Agreement in Tutoring Assistants", "Tutors agree too often. We measure it.", "responsible-ai"),
        ("Exploration Bonuses from Prediction Error", "Agents explore poorly. We add a bonus.", "reinforcement-learning"),
    ],
)
def test_a_subject_named_plainly_gets_its_tag(taxonomy, title: str, abstract: str, expected: str) -> None:
    assert expected in tags(title, abstract, taxonomy)


@pytest.mark.parametrize(
    ("title", "abstract", "absent"),
    [
        # the same nouns where they are not the subject: an item of a platform, another sense, an input, a list
        ("Short-Video Feed Ranking with Watch Time", "We rank short videos.", "video"),
        ("Diffusion MRI of White Matter Tracts", "We map tracts with diffusion MRI.", "generative-models"),
        ("Head Avatars from a Phone Video", "We fit avatars.", "video"),
        ("One Encoder for Text, Audio, Video and Code", "We share weights.", "video"),
        ("Synthetic Aperture Radar Despeckling", "Radar images are noisy. We denoise them.", "synthetic-data"),
    ],
)
def test_a_subject_noun_that_is_not_the_subject_gets_no_tag(taxonomy, title: str, abstract: str, absent: str) -> None:
    assert absent not in tags(title, abstract, taxonomy)


def test_british_spellings_match_the_american_phrase(taxonomy) -> None:
    def llm_weight(abstract: str) -> float:
        return sum(s.weight for s in score_tags("Aligning assistants", abstract, taxonomy) if s.tag == "llm")

    american = llm_weight("Assistants flatter. We apply direct preference optimization to them.")
    assert american > 0 and llm_weight("Assistants flatter. We apply direct preference optimisation to them.") == american
    assert "efficiency" in tags("Post-Training Quantisation of Speech Encoders", "Encoders are large.", taxonomy)
    assert "generative-models" in tags("Normalising Flows for Tabular Data", "Tables are mixed.", taxonomy)


def test_a_coined_name_matches_at_its_capitalised_tail_only() -> None:
    taxonomy = parse_taxonomy({"bench": {"phrases": ["bench"]}, "gans": {"phrases": ["GAN"]}}, "test")
    assert tags("SheetBench: Spreadsheet Tasks", "", taxonomy) == {"bench"}
    assert tags("Detecting orGAN failure with cGAN", "", taxonomy) == set()  # a tail is a capitalised word


def test_future_work_and_limitations_do_not_count(taxonomy) -> None:
    aside = "Cameras move. The controller is not yet trained with reinforcement learning. Reinforcement learning is left to future work."
    assert "reinforcement-learning" not in tags("Camera control", aside, taxonomy)
    (score,) = [s for s in score_tags("Camera control", aside, taxonomy) if s.tag == "reinforcement-learning"]
    assert {m.negated_by for m in score.ignored} == {"(future work or a limitation)"}
    # a recommendation for future work is a finding; a claim before a warning still counts, the warning does not
    advice = "Cameras move. We find that future work should use reinforcement learning. Reinforcement learning helps."
    assert "reinforcement-learning" in tags("Camera control", advice, taxonomy)
    warned = "Users differ. We release a dataset of 4,000 sessions, and caution against tuning recommenders with reinforcement learning."
    assert "reinforcement-learning" not in tags("Simulated users", warned, taxonomy)
    assert "datasets" in tags("Simulated users", warned, taxonomy)


def test_a_baseline_is_not_what_the_paper_is_about(taxonomy) -> None:
    compared = "Humans move. Results include a strong GAN baseline. Two GAN baselines fail."
    assert "generative-models" not in tags("Pose tracking", compared, taxonomy)
    (score,) = [s for s in score_tags("Pose tracking", compared, taxonomy) if s.tag == "generative-models"]
    assert {m.negated_by for m in score.ignored} == {"(a baseline)"}
    assert "generative-models" in tags("Pose tracking", "Humans move. We train a GAN on poses.", taxonomy)


def test_a_sense_guard_keeps_a_tag_off_papers_without_its_words(tmp_path: Path) -> None:
    own = parse_taxonomy({"search": {"label": "Search", "phrases": ["retrieval"], "needs": ["query", "document"]}}, "t")
    assert tags("Retrieval of Aerosol Depth", "Aerosols scatter light.", own) == set()
    assert tags("Retrieval of Documents", "Long documents are hard.", own) == {"search"}
    assert tags("Retrieval for Long Queries", "Users type a lot.", own) == {"search"}  # plurals count, as in phrases
    # an extension adds needs to a default tag, and --explain-tags says why the tag was not given
    config = "taxonomy:\n  extends: default\n  tags:\n    robotics: {needs: [actuator]}\n"
    site_dir = make_site(tmp_path, config, {"a": ("Robot Arms for Kitchens", "Kitchens are cramped.", "")})
    site = tagged(site_dir)
    assert "robotics" not in site.papers["a"].tags
    text = explain(site, load_taxonomy(site_dir, load_config(site_dir)[0]))
    assert "(robotics: weight 0, needs 2: not given)" in text
    assert "ignored title 'robot arm' (none of its needs: actuator): Robot Arms for Kitchens" in text


def test_the_quality_bench_sums_every_judged_set_and_takes_settings() -> None:
    bench = bench_module()
    lines = bench.every_set(default_taxonomy()).splitlines()
    assert any(line.startswith("tags-fresh6.yaml: 30 judged papers") for line in lines)
    papers = sum(int(line.split(": ", 1)[1].split()[0]) for line in lines[:-1])
    assert lines[-1].startswith(f"all {len(lines) - 1} sets: {papers} judged papers")
    assert bench.settings_from(["min_weight=1.5", "title_weight=3"]) == TagSettings(min_weight=1.5, title_weight=3.0)
    with pytest.raises(SystemExit, match="not a numeric tagging setting"):
        bench.settings_from(["negations=1"])


# ---------------------------------------------------------------------------------------
# Known defects of the signs, numbers in phrases, glued versions and sense guards (review of issue 18's rules):
# each probe fails today and is a strict xfail, so that a fix shows up as an XPASS to be turned into a plain probe.


def _known(title: str, abstract: str, absent: str, reason: str):
    return pytest.param(title, abstract, absent, marks=pytest.mark.xfail(strict=True, reason=reason))


@pytest.mark.parametrize(
    ("title", "abstract", "absent"),
    [
        # sizes and counts: money and a board's model name are no model sizes, crypto tokens are no training tokens
        pytest.param("A $20B Model for Funding Rural Broadband", "States pool federal grants.", "llm", id="a dollar amount is no model size"),
        _known("A Hive Monitor on a Raspberry Pi 4B Model", "We count bees at the entrance.", "llm",
               "sign '0B model' takes the board name 'Pi 4B'"),
        _known("Crypto Exchanges Trading 40B Tokens a Day", "Prices swing with volume.", "llm",
               "sign '0B token' takes cryptocurrency tokens"),
        # 000: a span of years, a unit after a space, a year before 1900
        pytest.param("Maize: 9,000 Years of Domestication", "Cobs grew larger.", "datasets", id="a span of years is no collection"),
        pytest.param("Everest: 8,848 Metres of Weather", "We log winds.", "datasets", id="a height is no collection"),
        pytest.param("The Great Fire: 1666 and After", "We read insurance ledgers.", "datasets", id="a year is no collection"),
        # a version glued to an acronym: a gene and a rocket engine
        pytest.param("GPT2 Deficiency Causes a Neurodevelopmental Disorder",
               "Loss of the mitochondrial enzyme impairs alanine synthesis.", "llm", id="the gene GPT2 is no GPT"),
        pytest.param("Combustion Instability in the RL10 Upper-Stage Engine", "We test injectors at altitude.",
               "reinforcement-learning", id="the RL10 engine is no RL"),
    ],
)
def test_other_fields_words_that_the_new_rules_read_give_no_tag(
    taxonomy, title: str, abstract: str, absent: str
) -> None:
    assert absent not in tags(title, abstract, taxonomy)


@pytest.mark.parametrize(
    ("title", "abstract", "absent"),
    [
        # (found by the review as strict xfails; fixed in the taxonomy, each with one probe of our own in other wording)
        # "quantized" and "quantizing" count only with what a model quantizes: physics quantizes vortices, charge, fields
        ("Quantized Vortices in Superfluid Helium", "Vortex rings reconnect.", "efficiency"),
        ("Quantized Charge Pumping in Graphene Nanoribbons", "We pump single electrons.", "efficiency"),
        ("Quantizing the Electromagnetic Field in a Cavity", "We quantize the field.", "efficiency"),
        ("Flux Quantization in Superconducting Rings", "Rings trap flux.", "efficiency"),
        # few bits of a converter or a logic circuit, a codec's bit rate, and a film's or a camera's frame rate
        ("1-Bit ADCs in Massive MIMO Uplinks", "Base stations with many antennas use coarse converters.", "efficiency"),
        ("A 2-Bit Ripple-Carry Adder in Superconducting Logic", "We fabricate the adder.", "efficiency"),
        ("Speech Coding at a Low Bit Rate",
         "Our codec runs at a low bit rate. It suits low bit rate radio links.", "efficiency"),
        ("Silent Film Projection at 16 Frames per Second", "Projectionists varied the speed.", "efficiency"),
        ("A 3-Bit Flash Converter in 28 nm CMOS", "We design a comparator ladder with low-bit outputs.", "efficiency"),
        ("Hummingbird Wingbeats Filmed at 500 Frames per Second", "We count strokes.", "efficiency"),
        # the plain noun "tracking" in a title, and sense-guard words with everyday senses (an image, a visual scale, a frame)
        ("Tracking Brand Image on Social Media", "Firms monitor how consumers talk about them.", "tracking"),
        ("Tracking Pain After Knee Replacement", "Pain was scored on a visual analogue scale for 12 weeks.", "tracking"),
        ("Tracking Vaccination Coverage Across Districts", "We draw households from a census sampling frame.", "tracking"),
        ("Tracking Body Image Through Adolescence", "Girls rated their looks on a visual scale in one survey frame a year.",
         "tracking"),
        # left: the plural "frames" stands for the frames of a video (a multi-object tracker of dancers names no other
        # word of vision), but a news story's frames (framing theory) are plural too
        _known("Tracking News Frames of Climate Change", "We code 3,000 articles.", "tracking",
               "needs 'frames' is satisfied by framing theory's frames"),
        # a medical image read by people: athletic training, deep veins and deep brain stimulation are no learners
        ("Echocardiography in Elite Rowers", "We compare hearts before and after a season of training.", "computer-vision"),
        ("Ultrasound Images of Deep Vein Thrombosis", "Two sonographers graded the clots of 200 legs.", "computer-vision"),
        ("MRI Scans Before Deep Brain Stimulation", "Surgeons plan electrode paths on the scans of 40 patients.",
         "computer-vision"),
        ("Ultrasound Images of Deep Muscles After Strength Training", "Two physiotherapists measured 60 athletes.",
         "computer-vision"),
        # surgical and hair clips are no videos
        ("Surgical Clips Versus Sutures in Appendectomy", "A randomised trial of 300 patients.", "video"),
        ("Hair Clips and Scalp Injuries", "We study pressure sores under hair clips.", "video"),
        ("Titanium Clips Close Bowel Perforations", "Endoscopists placed clips in 120 patients.", "video"),
        # signs that other fields name too: a coin's supply, a human chat assistant, a phone's jailbreak, hate speech in
        # law, a formal proof of one named result (formalised mathematics), the idiom "a chain of thought"
        ("Million-Token Airdrops and Price Crashes", "Airdrops flood markets.", "llm"),
        ("Million-Token Presales of Meme Coins", "Investors bought coins before listing.", "llm"),
        ("Live Chat Assistants in Online Banking", "Banks staff chat windows with trained clerks.", "llm"),
        ("Chat Assistants in a Telehealth Call Centre", "Nurses answer patients' messages in shifts.", "llm"),
        ("iOS Jailbreaks and Forensic Acquisition", "Police examiners unlock seized phones.", "llm"),
        ("Untethered Jailbreaks Through Bootrom Exploits", "Attackers keep root access after the handset reboots.", "llm"),
        ("Hate Speech Laws in Europe", "We compare statutes across 20 countries.", "nlp"),
        ("Hate Speech Legislation and Press Freedom", "We review rulings of 12 constitutional courts.", "nlp"),
        ("A Formal Proof of the Kepler Conjecture", "We verify the proof in HOL Light and Isabelle.", "reasoning"),
        ("A Formal Proof of Fermat's Last Theorem for Regular Primes", "We formalise Kummer's argument in Lean.", "reasoning"),
        ("The Chain of Thought in Hume's Treatise", "Hume traces a chain of thought from impressions.", "llm"),
        ("Coleridge and the Chain of Thought in Romantic Poetry", "Poets follow a chain of thought across stanzas.", "llm"),
        # new phrases with medical, engineering, genomic and manuscript senses
        ("Safety Evaluation of a Malaria Vaccine in Children", "We report adverse events in 600 children.", "responsible-ai"),
        ("Safety Evaluation of a Pedestrian Bridge Under Crowd Loads", "We measure deck vibrations.", "responsible-ai"),
        ("Quality of Discharge Summaries in Rural Hospitals", "We audit 500 discharge summaries for missing medicines.", "nlp"),
        ("Completeness of Discharge Summaries Sent to Family Doctors", "Pharmacists checked 300 summaries for omissions.",
         "nlp"),
        ("Sparse Annotation of the Axolotl Genome", "We annotate genes.", "label-efficient-learning"),
        ("Sparse Annotation of Medieval Papyri", "Scholars mark a few lines of each fragment.", "label-efficient-learning"),
    ],
)
def test_other_fields_senses_that_the_taxonomy_turns_away_give_no_tag(
    taxonomy, title: str, abstract: str, absent: str
) -> None:
    assert absent not in tags(title, abstract, taxonomy)


def test_a_frame_rate_with_a_thousands_separator_is_an_aim_too(taxonomy) -> None:
    for rate in ("1000", "1,000"):
        title = f"Lane Detection at {rate} Frames per Second"
        assert "efficiency" in tags(title, "We propose a small object detector.", taxonomy), rate


def test_a_sense_guard_matches_numbers_and_versions_as_phrases_do() -> None:
    sized = parse_taxonomy({"t": {"label": "T", "phrases": ["assistant"], "needs": ["0B model"]}}, "test")
    assert tags("An assistant built on an 8B model", "", sized) == {"t"}
    assert tags("An assistant built on a 1.5B model", "", sized) == {"t"}  # the number's words are "1" and "5B"
    named = parse_taxonomy({"t": {"label": "T", "phrases": ["assistant"], "needs": ["Qwen"]}}, "test")
    assert tags("An assistant built on Qwen2.5", "", named) == {"t"}
