#!/usr/bin/env python3
"""Write a synthetic corpus of news items with known stories, in the real file format.

    python benchmarks/generate.py N OUT_DIR [--seed S] [--jobs J] [--dense]

Writes N ``.md`` files under ``OUT_DIR`` in sharded subfolders (``0000/``, ``0001/``, ...,
at most ``--per-folder`` files each, in publication order) and the true stories to
``OUT_DIR.truth.tsv`` (``file<TAB>story``, paths relative to ``OUT_DIR``), which
``storygraph evaluate`` reads.

How the data is made (every name, URL and text is invented):

- Stories have 1-60 articles, heavy-tailed (P(size=k) ~ k^-2: about 60% of stories
  are single articles, about 15% of articles are in stories of 30 or more). Each story
  starts at a random time in 2023; its articles follow within a few days (a few
  late ones up to ten days, like crawl dates).
- Each story belongs to a topic (an invented company, game or product in one of
  eleven domains such as cloud, games, security), and has an event type of its domain
  (outage, acquisition, patch, ...). About one topic per 400 articles, with lognormal
  popularity, so the density of same-topic stories is the same at every N.
- An article's title and excerpt mix its story's own vocabulary (invented entity
  names, numbers, a few ordinary words), its event type's words, its topic's name and
  words, its domain's words and generic news words. Stories of the same topic and
  event type (two outages of one cloud weeks apart) share everything but the
  story's own terms; some articles carry almost none of them.
- ``related``: 0-15 entries, mostly other articles of the same story, some to the
  story's coverage that is not in the corpus (shared between the story's lists), and
  a few to other stories of the same topic (noise; some topics are noisy like the
  real azure site). Sorted by quality, highest first.
- Front matter in the real key order, double-quoted strings; AMP URLs on some outlets,
  videos (no ``webUrl``, ``featuredContent``), syndicated copies with one title,
  AMP duplicates of one article, midnight dates, empty excerpts, null topics.

``--dense`` (``generate(..., dense=True)``) models an aggregator's busy days instead of a
sparse year: over days to months, a few big events a day, each covered by 50-500 outlets
within a day or two, among the usual small stories and singletons. A benchmark for "stories
must not depend on how dense the news is". Without it the output is exactly what it was
before the option existed.

- Big events: ``round(0.6 * N / 195.4)`` of them (195.4 is the mean of the size law), so
  about 60% of the articles are in big events; sizes log-uniform in [50, 500] (stratified
  draws, so the share holds at small N; below ~1,000 items they are scaled down so one
  event cannot be the whole corpus). The first article is at the event's start, the others
  follow with exponential offsets of mean 0.4 day capped at 2 days, 2% late (2-4 days).
- Span: ``max(3, 0.6 * N / (3 * 195.4))`` days (10,000 items: 10.2 days, 100,000: 102 days),
  so there are about 3 big events a day at every N. Big events and small stories start
  uniformly over the span (on 2023-01-01 onwards); small stories keep the sparse law (the
  k^-2 sizes over the other ~40% of the articles, the same within-story offsets, so their
  late items can run up to ten days past the span).
- Topics, text, related lists and front matter follow the same rules as above: big events
  share topics with small stories (same-topic, other-event traps stay) and have their own
  terms, syndicated copies, AMP duplicates, videos, midnight dates and so on.
- Outlets: 4,000 instead of 600 (the first 600 are the sparse regime's); a small story draws
  from its topic's 15-40 outlets as before, a big event from all the outlets covering its
  topic's domain (600-680): mostly one article an outlet, 15% follow-ups from an outlet
  already on the event, so a 500-article event has about 400 distinct outlets.
- Article ids use a stride of 1,024 per story (64 in the sparse regime), since a big event
  has up to ~800 articles with its coverage outside the corpus.

The output depends only on N, the seed and ``--dense`` (not on ``--jobs``). Standard library and
numpy only; strings are formatted by hand (a YAML dumper would be ~10x slower).
"""

from __future__ import annotations

import argparse
import base64
import datetime as dt
import functools
import math
import multiprocessing
import os
import random
import re
import sys
import time
from pathlib import Path

import numpy as np

YEAR_START = dt.datetime(2023, 1, 1, tzinfo=dt.timezone.utc)
YEAR_SECONDS = 365 * 86400
MAX_STORY = 60
ARTICLES_PER_TOPIC = 400
OUTLETS = 600  # the sparse regime's outlets (and the first OUTLETS of the dense regime's)

# Dense regime (--dense): big events of BIG_MIN-BIG_MAX articles (log-uniform), BIG_SHARE of
# the articles, BIG_PER_DAY of them a day on average; the span scales with N accordingly.
BIG_MIN, BIG_MAX = 50, 500
BIG_MEAN = (BIG_MAX - BIG_MIN) / math.log(BIG_MAX / BIG_MIN)  # mean of the log-uniform law, ~195.4
BIG_SHARE = 0.6
BIG_PER_DAY = 3
DENSE_OUTLETS = 4000  # a domain then has 600-680 outlets: enough for 500 distinct on one event
DENSE_ID_STRIDE = 1024  # > BIG_MAX + external coverage (at most 0.6 * BIG_MAX + 4)

# --------------------------------------------------------------------------- vocabulary

SYLLABLES = (
    "ka ro ven tal mir dor bex lu sa qui zan fel or ith mar nol pra sel tov ur "
    "ga hel ix jun kor lam neb ost pel ryn sil tum vash wyl yor zel ad bri cas den "
    "el fin gor han ir jas kel lor mun nor pax quin ras sun tor vin wex ar dal mek"
).split()

FIRST_NAMES = (
    "Anna Ben Carla David Elena Farid Grace Hiro Ines Jonas Kira Liam Maya Noor Omar "
    "Priya Quentin Rosa Sam Tara Umar Vera Wei Ximena Yusuf Zoe Aiden Bianca Chen Dana"
).split()

GENERIC = (
    "new says report after amid week today first latest big plans could will now here "
    "what know why how more year officials statement according sources expected announced "
    "confirmed major global move look inside exclusive analysis live updates breaking "
    "update says following ahead early late next last full details explained means "
    "finally officially reportedly likely despite again still back big biggest"
).split()

FUNCTION = "the of and in to a for with on its that is as by from at was has this".split()

CONNECTORS = ("after", "as", "amid", "in", "for", "over", "with", "ahead of", ":", "–", "-")

# Ordinary words a story can own (its distinctive but not unique content).
STORY_WORDS = (
    "hydrogen trailer lawsuit harbor festival glacier pension orchard satellite tunnel "
    "warehouse ferry stadium refinery bakery canal vineyard pipeline bridge museum "
    "library hospital airport railway subway highway reservoir quarry mine forest "
    "desert island valley river coast mountain village suburb district province county "
    "embassy parliament senate council tribunal court jury verdict appeal settlement "
    "strike union wage pension bonus dividend royalty license patent trademark "
    "merger spinoff divestiture buyback auction tender bond loan mortgage credit "
    "inflation tariff quota embargo sanction treaty summit election ballot campaign "
    "protest boycott petition referendum census survey poll audit probe inquiry "
    "scandal leak whistleblower hearing testimony subpoena indictment plea fine "
    "penalty refund rebate voucher coupon loyalty subscription bundle upgrade "
    "downgrade rollback hotfix firmware driver plugin extension widget dashboard "
    "console terminal kiosk scanner printer router modem antenna sensor camera "
    "drone robot rover lander probe capsule module thruster engine turbine "
    "generator battery inverter charger cable connector adapter socket switch "
    "valve pump compressor boiler furnace chiller heater cooler fan filter "
    "membrane catalyst enzyme protein antibody vaccine antigen peptide genome "
    "sequencing biopsy implant prosthetic stent catheter ventilator dialysis "
    "insulin opioid antibiotic steroid hormone vitamin supplement allergy asthma "
    "migraine arthritis diabetes obesity dementia stroke sepsis measles malaria "
    "wildfire hurricane typhoon tornado flood drought heatwave blizzard earthquake "
    "tsunami avalanche landslide eruption volcano lightning hailstorm monsoon "
    "cyclone frost smog pollen algae coral reef mangrove wetland tundra savanna "
    "falcon eagle otter beaver salmon whale dolphin turtle tiger panda koala "
    "penguin walrus bison moose lynx badger hedgehog sparrow pelican heron "
    "copper nickel cobalt lithium graphite silicon titanium aluminum zinc tin "
    "platinum palladium uranium helium neon argon carbon sulfur phosphate potash "
    "wheat barley maize cocoa coffee sugar cotton rubber timber soybean canola "
    "ledger invoice payroll escrow custody clearing settlement remittance "
    "mascot trophy medal jersey roster playoff tournament bracket derby regatta "
    "marathon relay sprint triathlon rally grandprix qualifier semifinal final "
    "orchestra symphony opera ballet musical premiere encore soundtrack album "
    "podcast documentary anthology sequel prequel reboot remake trilogy finale "
    "lantern compass anchor beacon lighthouse harbor pier dock wharf marina "
    "checkpoint border customs visa passport asylum migrant refugee shelter "
    "curfew lockdown quarantine evacuation rescue salvage recovery cleanup "
    "blueprint prototype pilot rollout waitlist preorder backorder shortage "
    "surplus backlog bottleneck shutdown restart reboot failover outage failback"
).split()

# Domain: (topic name suffixes, domain words, {event type: (event words, title phrases)})
DOMAINS = {
    "cloud": (
        ["Cloud", "Web Services", "Compute", "Cloud Platform", ""],
        "cloud region customers services platform infrastructure data developers enterprise "
        "compute storage network kubernetes containers servers datacenter availability latency "
        "workloads migration hybrid edge database analytics serverless api capacity instances "
        "virtual machines tenants partners console support".split(),
        {
            "outage": ("outage down disruption restored incident failure hours root cause mitigated affected downtime".split(),
                       ["suffers outage in", "outage hits", "restores service after", "blames outage on", "is down in"]),
            "launch": ("launches general availability preview feature rollout available released generally".split(),
                       ["launches", "makes generally available", "unveils", "rolls out", "previews"]),
            "pricing": ("prices price increase egress fees billing cost cheaper discount tier".split(),
                        ["raises prices for", "cuts prices on", "changes billing for"]),
            "deal": ("contract deal agreement partnership signs multiyear alliance selects migrates".split(),
                     ["signs deal with", "wins contract from", "partners with"]),
            "security": ("vulnerability flaw patch exploit attackers researchers disclosed fixes critical exposure".split(),
                         ["patches flaw in", "fixes critical bug in", "warns of vulnerability in"]),
            "region": ("region opens datacenter expansion sovereign local residency zones".split(),
                       ["opens region in", "expands to", "plans datacenter in"]),
        },
    ),
    "games": (
        ["", "Online", "Legends", "Tactics", "Chronicles", "Arena"],
        "game players season update patch release studio developer gameplay multiplayer console pc "
        "trailer expansion beta character class boss dungeon loot servers fans community rpg shooter "
        "early access roadmap dlc story campaign ranked event".split(),
        {
            "patch": ("patch notes nerf buff balance changes fixes hotfix".split(),
                      ["patch notes", "nerfs", "buffs", "update is live", "hotfix fixes"]),
            "delay": ("delayed delay pushed release date postponed launch".split(),
                      ["delayed to", "pushes back", "release date slips for"]),
            "reveal": ("trailer reveal revealed gameplay showcase announced".split(),
                       ["reveals", "trailer shows", "gameplay reveal of"]),
            "event": ("limited event rewards returns festival seasonal".split(),
                      ["event returns with", "limited event brings", "rewards for"]),
            "esports": ("tournament championship finals team prize pool wins".split(),
                        ["championship won by", "finals set for", "tournament prize pool hits"]),
            "sales": ("sales sold copies milestone record peak concurrent".split(),
                      ["sells", "hits record", "passes milestone"]),
            "layoffs": ("layoffs staff cuts jobs restructuring".split(),
                        ["studio lays off", "cuts jobs at", "restructuring hits"]),
        },
    ),
    "finance": (
        ["Holdings", "Group", "Corp", "Inc.", "Capital", "Industries"],
        "company shares investors stock billion million quarter revenue profit market analysts "
        "board ceo executive growth valuation shareholders bid offer".split(),
        {
            "acquisition": ("acquire buy acquisition deal agrees takeover share premium bid".split(),
                            ["to acquire", "agrees to buy", "makes bid for", "in talks to buy"]),
            "earnings": ("earnings quarter revenue beats misses estimates guidance profit forecast".split(),
                         ["beats estimates as", "misses estimates on", "raises guidance after"]),
            "ceo": ("ceo steps down appoints chief executive successor resigns named".split(),
                    ["names new CEO", "CEO steps down from", "appoints"]),
            "antitrust": ("antitrust regulators probe commission competition lawsuit approval blocks".split(),
                          ["faces antitrust probe over", "regulators block", "wins approval for"]),
            "ipo": ("ipo listing files public debut priced".split(),
                    ["files for IPO", "prices IPO at", "shares jump in debut"]),
            "layoffs": ("layoffs cuts jobs workforce restructuring percent employees".split(),
                        ["to cut jobs", "lays off", "restructures"]),
        },
    ),
    "security": (
        ["Security", "Networks", "Systems", "Labs", ""],
        "security hackers attack data breach ransomware malware researchers vulnerability exploit "
        "threat actors customers systems network credentials phishing encryption firms incident "
        "cyber investigation".split(),
        {
            "breach": ("breach exposed records stolen customers leaked notified".split(),
                       ["confirms data breach", "breach exposes", "investigating incident at"]),
            "ransomware": ("ransomware encrypted ransom gang claims demand leak site".split(),
                           ["hit by ransomware", "ransomware gang claims", "refuses ransom after"]),
            "vuln": ("vulnerability zero-day patch exploit cve critical flaw update".split(),
                     ["patches zero-day in", "critical flaw found in", "exploited bug in"]),
            "arrest": ("arrested police charged operation takedown suspects seized".split(),
                       ["police arrest", "takedown of", "charged over"]),
            "fine": ("fine fined regulator gdpr penalty privacy authority".split(),
                     ["fined over", "regulator fines", "penalty for"]),
        },
    ),
    "devices": (
        ["", "Pro", "Mobile", "Devices"],
        "phone smartphone device battery camera display chip processor model price specs android "
        "screen design storage wireless charging hardware laptop tablet wearable".split(),
        {
            "launch": ("launches unveils announced price available preorder".split(),
                       ["unveils", "launches", "is official:", "goes on sale"]),
            "review": ("review hands-on tested verdict impressions".split(),
                       ["review:", "hands-on with", "tested:"]),
            "recall": ("recall overheating defect safety replacement units".split(),
                       ["recalls", "recall over", "safety warning for"]),
            "leak": ("leak leaked renders rumor specs tipster".split(),
                     ["leak reveals", "renders show", "specs leak for"]),
            "update": ("update software features rollout bug fix".split(),
                       ["update brings", "software update for", "bug fix for"]),
        },
    ),
    "ai": (
        ["AI", "Labs", "Intelligence", ""],
        "ai model models training language chatbot generative researchers data compute gpu "
        "inference benchmark open source parameters safety agents startup developers assistant".split(),
        {
            "release": ("releases model benchmark parameters weights open outperforms".split(),
                        ["releases", "new model tops", "open-sources"]),
            "funding": ("raises funding round valuation investors series led".split(),
                        ["raises", "funding round values", "lands investment for"]),
            "policy": ("regulation act rules lawmakers safety guidelines compliance".split(),
                       ["rules target", "lawmakers question", "complies with"]),
            "partnership": ("partnership deal integrate partners collaboration".split(),
                            ["partners with", "integrates", "teams up with"]),
            "lawsuit": ("lawsuit copyright sued authors court infringement".split(),
                        ["sued over", "copyright lawsuit against", "court rules on"]),
        },
    ),
    "autos": (
        ["Motors", "Auto", "EV", "Automotive"],
        "electric vehicle ev car cars battery charging range deliveries factory production automaker "
        "models sedan suv autonomous driving software dealers sales plant".split(),
        {
            "deliveries": ("deliveries quarter delivered units record production".split(),
                           ["deliveries beat", "delivers record", "production slows at"]),
            "recall": ("recall vehicles defect safety nhtsa fix units".split(),
                       ["recalls", "recall covers", "safety probe into"]),
            "factory": ("factory plant build investment jobs gigafactory site".split(),
                        ["to build factory in", "picks site for", "invests in plant"]),
            "launch": ("unveils launch model price range reveal".split(),
                       ["unveils", "launches", "prices new"]),
            "autonomy": ("autonomous self-driving robotaxi permit testing crash".split(),
                         ["robotaxi permit for", "self-driving test in", "crash involving"]),
        },
    ),
    "energy": (
        ["Energy", "Power", "Renewables", "Utilities"],
        "energy power solar wind grid oil gas prices renewable utility emissions carbon capacity "
        "project megawatts storage hydrogen nuclear plant electricity".split(),
        {
            "project": ("project approved construction megawatts capacity farm built".split(),
                        ["wins approval for", "starts building", "completes"]),
            "prices": ("prices barrel crude output cut supply".split(),
                       ["raises prices as", "cuts output at", "prices jump after"]),
            "outage": ("blackout outage grid customers power restored storm".split(),
                       ["blackout leaves", "restores power after", "outage hits"]),
            "policy": ("policy subsidies target emissions law bill".split(),
                       ["backs bill on", "target set for", "subsidies for"]),
            "deal": ("deal acquire stake agreement supply contract".split(),
                     ["buys stake in", "signs supply deal with", "to acquire"]),
        },
    ),
    "health": (
        ["Pharma", "Therapeutics", "Bio", "Health"],
        "drug trial patients fda approval treatment vaccine study clinical therapy disease results "
        "phase doses hospital health medicine researchers cancer".split(),
        {
            "approval": ("approves approval fda cleared authorization label".split(),
                         ["wins FDA approval for", "cleared for", "approval expands"]),
            "trial": ("trial results phase endpoint data efficacy met".split(),
                      ["trial meets", "phase 3 results for", "data show"]),
            "recall": ("recall contamination lots batches withdrawn".split(),
                       ["recalls", "pulls batches of", "contamination found in"]),
            "deal": ("acquire deal licensing rights upfront milestone".split(),
                     ["licenses", "to acquire", "pays upfront for"]),
            "pricing": ("price pricing cost insulin discount medicare".split(),
                        ["cuts price of", "pricing deal for", "caps cost of"]),
        },
    ),
    "space": (
        ["Space", "Aerospace", "Orbital", "Launch"],
        "space launch rocket satellite orbit mission nasa crew spacecraft lunar moon mars station "
        "payload booster astronauts telescope".split(),
        {
            "launch": ("launches liftoff launch payload orbit deployed booster landing".split(),
                       ["launches", "lifts off with", "deploys"]),
            "failure": ("failure anomaly explosion lost scrubbed investigation".split(),
                        ["loses", "anomaly ends", "scrubs launch of"]),
            "mission": ("mission arrives lands lunar probe data images".split(),
                        ["mission reaches", "lands", "probe sends"]),
            "contract": ("contract awarded nasa selected award".split(),
                         ["wins contract for", "selected for", "awarded"]),
        },
    ),
    "telecom": (
        ["Telecom", "Mobile", "Wireless", "Networks"],
        "network carrier wireless 5g broadband fiber subscribers spectrum coverage mobile plans "
        "customers operator speeds towers".split(),
        {
            "outage": ("outage down service restored customers calls disruption".split(),
                       ["outage hits", "network down for", "restores service after"]),
            "merger": ("merger acquire deal combined approval".split(),
                       ["to merge with", "deal approved for", "buys"]),
            "spectrum": ("auction spectrum bid licenses fcc".split(),
                         ["wins spectrum in", "bids for", "auction results for"]),
            "plans": ("plans price unlimited data increase".split(),
                      ["raises prices on", "new plans for", "unlimited plan adds"]),
        },
    ),
}
DOMAIN_NAMES = list(DOMAINS)

SECTIONS = ("news", "tech", "business", "markets", "world", "gaming", "science", "story")


# --------------------------------------------------------------------------- plan (numpy)

class Plan:
    """Who is in which story, when: small numpy arrays, shared with workers by fork.

    Dense: the small stories come first (story ids below ``small_stories``), then the big
    events. Without ``dense`` every draw is what it was before the dense regime existed.
    """

    def __init__(self, n: int, seed: int, dense: bool = False):
        rng = np.random.default_rng(seed)
        self.n, self.seed, self.dense = n, seed, dense
        self.outlet_count = DENSE_OUTLETS if dense else OUTLETS
        self.id_stride = DENSE_ID_STRIDE if dense else 64
        n_small = n
        big = np.zeros(0, dtype=np.int64)
        if dense:
            self.span_days = max(3.0, BIG_SHARE * n / (BIG_PER_DAY * BIG_MEAN))
            n_big = round(BIG_SHARE * n / BIG_MEAN)
            # Log-uniform sizes, stratified (one draw in each 1/n_big of the log range, in
            # random order) so the big events' share of N stays near BIG_SHARE even at small N.
            u = (rng.permutation(n_big) + rng.random(n_big)) / max(n_big, 1)
            big = np.rint(BIG_MIN * (BIG_MAX / BIG_MIN) ** u).astype(np.int64)
            if big.sum() > 0.7 * n:  # N under ~1,000: one or two events would be most of it
                big = np.maximum(1, np.floor(big * (BIG_SHARE * n / big.sum()))).astype(np.int64)
            n_small = n - int(big.sum())
        ks = np.arange(1, MAX_STORY + 1)
        p = ks ** -2.0
        p /= p.sum()
        sizes = rng.choice(ks, size=n_small // 2 + 10, p=p)  # mean ~2.9: always enough
        cum = np.cumsum(sizes)
        count = int(np.searchsorted(cum, n_small)) + 1
        sizes = sizes[:count].copy()
        sizes[-1] -= int(cum[count - 1] - n_small)
        self.small_stories = len(sizes)
        if dense:
            sizes = np.concatenate([sizes, big])
        self.story_size = sizes.astype(np.int32)
        self.story_first = np.concatenate([[0], np.cumsum(self.story_size)[:-1]]).astype(np.int64)
        stories = len(sizes)

        topics = max(8, round(n / ARTICLES_PER_TOPIC))
        weights = np.clip(rng.lognormal(0.0, 0.6, size=topics), 0.3, 3.0)
        self.story_topic = rng.choice(topics, size=stories, p=weights / weights.sum()).astype(np.int32)
        if dense:
            self.story_start = rng.uniform(0, self.span_days * 86400, size=stories)
        else:
            self.story_start = rng.uniform(0, YEAR_SECONDS - 5 * 86400, size=stories)
        self.topics = topics

        # Article times: first at the start, others within days (a few late ones).
        self.art_story = np.repeat(np.arange(stories, dtype=np.int32), self.story_size)
        self.art_j = (np.arange(n) - self.story_first[self.art_story]).astype(np.int32)
        offsets = np.minimum(rng.exponential(0.8 * 86400, size=n), 4 * 86400)
        late = rng.random(n) < 0.03
        offsets[late] = rng.uniform(4 * 86400, 10 * 86400, size=int(late.sum()))
        if dense:
            # Big events: within a day or two (mean 0.4 day, at most 2), 2% late up to 4 days.
            in_big = self.art_story >= self.small_stories
            m = int(in_big.sum())
            big_off = np.minimum(rng.exponential(0.4 * 86400, size=m), 2 * 86400)
            late = rng.random(m) < 0.02
            big_off[late] = rng.uniform(2 * 86400, 4 * 86400, size=int(late.sum()))
            offsets[in_big] = big_off
        offsets[self.art_j == 0] = 0.0
        self.art_time = np.floor(self.story_start[self.art_story] + offsets)

        # Order by time (ties by index): the files' order, so shards are date ranges.
        self.order = np.lexsort((np.arange(n), self.art_time))
        # Same-topic stories sorted by start, to find a story's topical neighbours.
        self.topic_order = np.lexsort((self.story_start, self.story_topic)).astype(np.int32)
        self.topic_pos = np.empty(stories, dtype=np.int32)
        self.topic_pos[self.topic_order] = np.arange(stories, dtype=np.int32)
        bounds = np.searchsorted(self.story_topic[self.topic_order], np.arange(topics + 1))
        self.topic_bounds = bounds.astype(np.int64)


PLAN: Plan | None = None


def _init_worker(plan: Plan) -> None:
    global PLAN
    PLAN = plan
    _topic.cache_clear()
    _story.cache_clear()
    _article.cache_clear()


# --------------------------------------------------------------------------- pure generators

def _rng(*parts: int) -> random.Random:
    value = 0
    for part in parts:
        value = value * 1_000_003 + part
    return random.Random(value)


def _name(r: random.Random, lo: int = 2, hi: int = 3) -> str:
    return "".join(r.choice(SYLLABLES) for _ in range(r.randint(lo, hi))).capitalize()


def _escape(text: str) -> str:
    if "\\" in text or '"' in text:
        text = text.replace("\\", "\\\\").replace('"', '\\"')
    return text


_SLUG_RE = re.compile(r"[^a-z0-9]+")


def _slug(text: str, limit: int = 70) -> str:
    slug = _SLUG_RE.sub("-", text.lower()).strip("-")
    if len(slug) > limit:
        slug = slug[:limit].rsplit("-", 1)[0]
    return slug or "item"


def _cdn(amp_url: str) -> str:
    rest = amp_url.split("://", 1)[1]
    host = rest.split("/", 1)[0]
    return f"https://{host.replace('-', '--').replace('.', '-')}.cdn.ampproject.org/c/s/{rest}"


@functools.lru_cache(maxsize=None)
def _outlets(seed: int, count: int = OUTLETS) -> list[dict]:
    """Invented outlets: name, domain, URL and AMP style, base quality, domains covered.

    One stream per seed: the first ``OUTLETS`` of a longer list are the sparse regime's."""
    r = _rng(seed, 7)
    outlets = []
    suffixes = ["News", "Daily", "Wire", "Times", "Post", "Insider", "Report", "Hub", "Today", "Digest", ""]
    tlds = [".com", ".com", ".com", ".net", ".io", ".co.uk", ".org", ".eu"]
    seen = set()
    while len(outlets) < count:
        base = _name(r, 2, 3)
        suffix = r.choice(suffixes)
        name = f"{base} {suffix}".strip()
        domain = (_slug(base) + ("-" if r.random() < 0.1 else "") + _slug(suffix).replace("-", "")) + r.choice(tlds)
        domain = domain.replace("-.", ".")
        if domain in seen:
            continue
        seen.add(domain)
        covers = r.sample(DOMAIN_NAMES, r.choice([1, 1, 2, 3]))
        outlets.append({
            "name": name,
            "names": [name, f"{name} on MSN", name.replace(" ", "")] if r.random() < 0.15 else [name],
            "domain": domain,
            "host": ("www." if r.random() < 0.7 else "") + domain,
            "style": r.randrange(5),
            "amp": r.choice([None, None, None, "suffix", "segment", "query", "amphost"]),
            "section": r.choice(SECTIONS),
            "quality": r.randint(5, 140),
            "covers": covers,
        })
    return outlets


@functools.lru_cache(maxsize=None)
def _outlets_by_domain(seed: int, count: int = OUTLETS) -> dict[str, list[int]]:
    by: dict[str, list[int]] = {d: [] for d in DOMAIN_NAMES}
    for i, o in enumerate(_outlets(seed, count)):
        for d in o["covers"]:
            by[d].append(i)
    return by


@functools.lru_cache(maxsize=4096)
def _topic(t: int) -> dict:
    seed = PLAN.seed
    r = _rng(seed, 11, t)
    domain = r.choice(DOMAIN_NAMES)
    suffixes, words, events = DOMAINS[domain]
    base = _name(r, 2, 3)
    name = f"{base} {r.choice(suffixes)}".strip()
    pool = _outlets_by_domain(seed)[domain]
    return {
        "domain": domain,
        "name": name,
        "base": base,
        "products": [_name(r, 2, 2) for _ in range(3)],
        "words": r.sample(words, min(12, len(words))),
        "events": sorted(events),
        "outlets": r.sample(pool, min(len(pool), r.randint(15, 40))),
        "channels": [f"{_name(r, 2, 2)} {r.choice(['Gaming', 'TV', 'Tech', 'Plays', 'Explained', ''])}".strip()
                     for _ in range(4)],
        # Like the azure site, some topics' related lists wander across the topic.
        "noise": r.choice([0.0, 0.01, 0.01, 0.02, 0.03, 0.15]),
        # Site style: originalUrl + quality/heat/published (diablo4) or vendor style (azure).
        "site": r.choice(["outlet", "outlet", "vendor"]),
        "extra_topic": r.random() < 0.2,
    }


@functools.lru_cache(maxsize=1 << 16)
def _story(s: int) -> dict:
    plan = PLAN
    r = _rng(plan.seed, 13, s)
    topic = _topic(int(plan.story_topic[s]))
    event = r.choice(topic["events"])
    event_words, phrases = DOMAINS[topic["domain"]][2][event]
    entities = [_name(r, 2, 3) for _ in range(r.randint(2, 3))]
    if r.random() < 0.5:
        entities.append(f"{r.choice(FIRST_NAMES)} {_name(r, 2, 3)}")
    numbers = []
    for _ in range(r.randint(1, 3)):
        kind = r.randrange(5)
        if kind == 0:
            numbers.append(f"${r.randint(1, 99)}.{r.randint(1, 9)} billion")
        elif kind == 1:
            numbers.append(f"{r.randint(2, 900)} million")
        elif kind == 2:
            numbers.append(f"{r.randint(3, 95)}%")
        elif kind == 3:
            numbers.append(f"{r.randint(1, 9)}.{r.randint(0, 9)}.{r.randint(1, 30)}")
        else:
            numbers.append(str(r.randint(12, 9000)))
    size = int(plan.story_size[s])
    st = {
        "topic": topic,
        "event": event,
        "event_words": event_words,
        "phrases": phrases,
        "entities": entities,
        "numbers": numbers,
        "words": r.sample(STORY_WORDS, r.randint(3, 6)),
        "size": size,
        # Coverage that is not in the corpus: related entries point at it.
        "external": int(round(size * r.uniform(0.2, 0.6))) + r.randint(0, 4),
        "syndicated": size >= 5 and r.random() < 0.15,
        "start": float(plan.story_start[s]),
        "big": s >= plan.small_stories,
    }
    if st["big"]:
        # A big event is covered by many outlets: all the topic's own and others of its domain.
        own_outlets = topic["outlets"]
        taken = set(own_outlets)
        rest = [i for i in _outlets_by_domain(plan.seed, plan.outlet_count)[topic["domain"]] if i not in taken]
        want = max(0, min(len(rest), size + st["external"] - len(own_outlets)))
        coverage = own_outlets + r.sample(rest, want)
        r.shuffle(coverage)
        st["coverage"] = coverage
    return st


def _make_title(r: random.Random, st: dict) -> str:
    topic = st["topic"]
    own = st["entities"] + st["numbers"] + st["words"]
    # Some articles hardly name the event: "X outage: what we know".
    strength = r.choice((0, 1, 2, 2, 2, 3, 3, 3, 4))
    picks = r.sample(own, min(strength, len(own)))
    subject = topic["name"] if r.random() < 0.85 else r.choice(topic["products"] + [topic["base"]])
    parts = [subject]
    if r.random() < 0.75:
        parts.append(r.choice(st["phrases"]))
    else:
        parts.append(r.choice(st["event_words"]))
    if picks:
        parts.append(picks[0])
    if r.random() < 0.5:
        parts.append(r.choice(CONNECTORS))
        parts.append(r.choice(topic["words"] + st["event_words"]))
    parts.extend(picks[1:])
    if r.random() < 0.4:
        parts.append(r.choice(GENERIC))
    title = " ".join(parts).replace(" :", ":")
    if r.random() < 0.35:
        title = " ".join(w[:1].upper() + w[1:] for w in title.split(" "))
    if r.random() < 0.05:
        title = f'{title} "{r.choice(st["entities"])}"'
    if r.random() < 0.03:
        title = title + " \u2013 " + r.choice(["live updates", "what we know", "explained", "report"])
    return title


def _make_excerpt(r: random.Random, st: dict) -> str:
    if r.random() < 0.04:
        return ""
    topic = st["topic"]
    own = st["entities"] + st["numbers"] + st["words"]
    words = [topic["name"] if r.random() < 0.7 else topic["base"]]
    words += r.sample(own, min(len(own), r.randint(0, 5)))
    words += r.sample(st["event_words"], min(len(st["event_words"]), r.randint(1, 3)))
    words += r.sample(topic["words"], r.randint(1, 4))
    words += r.sample(GENERIC, r.randint(1, 4))
    r.shuffle(words)
    out = []
    for i, w in enumerate(words):
        if i and r.random() < 0.12:
            out[-1] += "."
            w = w[:1].upper() + w[1:]
        out.append(w)
        if r.random() < 0.7:
            out.append(r.choice(FUNCTION))
    text = " ".join(out)
    text = text[:1].upper() + text[1:]
    return text + (" ..." if r.random() < 0.3 else ".")


def _ts(seconds: float) -> str:
    return (YEAR_START + dt.timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%SZ")


def _article_id(s: int, j: int, seed: int, stride: int = 64) -> int:
    # A bijection of (story, index) for j < stride: unique URL ids that do not reveal the story.
    return ((s * stride + j) * 2654435761 + seed * 97) % (1 << 32)


def _urls(outlet: dict, slug: str, when: float, aid: int) -> tuple[str, str | None]:
    date = YEAR_START + dt.timedelta(seconds=when)
    host, style = outlet["host"], outlet["style"]
    if style == 0:
        url = f"https://{host}/{date:%Y/%m/%d}/{slug}-{aid % 100000}/"
    elif style == 1:
        url = f"https://{host}/{outlet['section']}/{aid}/{slug}"
    elif style == 2:
        url = f"https://{host}/{outlet['section']}/{slug}-{aid}"
    elif style == 3:
        url = f"https://{host}/article/{slug}-{aid}.html"
    else:
        url = f"https://{host}/{outlet['section']}/{date:%Y/%m}/{slug}-{aid}/"
    amp = outlet["amp"]
    if amp is None:
        return url, None
    if style == 3:
        return url, url[:-5] + ".amp.html"
    if amp == "suffix":
        return url, url.rstrip("/") + "/amp/"
    if amp == "query":
        return url, url + "?amp"
    if amp == "amphost":
        return url, url.replace(f"://{host}/", f"://amp.{outlet['domain']}/", 1)
    return url, url.replace(f"://{host}/", f"://{host}/amp/", 1)


@functools.lru_cache(maxsize=1 << 17)
def _article(s: int, j: int) -> dict:
    """Article j of story s (j >= size: coverage outside the corpus). Pure of (seed, s, j)."""
    plan = PLAN
    st = _story(s)
    topic = st["topic"]
    r = _rng(plan.seed, 17, s, j)
    if j < st["size"]:
        when = float(plan.art_time[plan.story_first[s] + j])
    elif st["big"]:
        when = st["start"] + min(r.expovariate(1 / (0.4 * 86400)), 2 * 86400)
    else:
        when = st["start"] + min(r.expovariate(1 / (0.8 * 86400)), 4 * 86400)
    if st["syndicated"] and 1 <= j <= 2:
        source = _article(s, 0)
        title, excerpt = source["title"], source["excerpt"]
    else:
        title, excerpt = _make_title(r, st), _make_excerpt(r, st)
    if r.random() < 0.005:
        when -= when % 86400  # date-only precision
    video = r.random() < 0.03
    aid = _article_id(s, j, plan.seed, plan.id_stride)
    slug = _slug(title)
    outlets = _outlets(plan.seed, plan.outlet_count)
    art = {
        "title": title, "excerpt": excerpt, "time": when, "slug": slug, "video": video,
        "amp_url": None, "cdn_url": None, "original": None,
    }
    if video:
        vid = base64.urlsafe_b64encode(r.getrandbits(64).to_bytes(8, "little")).decode()[:11]
        art.update(web_url=None, original=f"https://youtube.com/watch?v={vid}",
                   provider=r.choice(topic["channels"]), domain="youtube.com",
                   quality=r.randint(20, 160), vid=vid, title=title + (" \U0001F525" if r.random() < 0.3 else ""))
        return art
    dup_of = j >= 1 and j < st["size"] and r.random() < 0.005
    if dup_of:
        # The AMP copy of the previous article, crawled again: same item, other URL.
        prev = _article(s, j - 1)
        if not prev["video"] and prev["amp_url"]:
            art.update({k: prev[k] for k in ("title", "excerpt", "provider", "domain", "quality", "slug")})
            art["web_url"] = prev["amp_url"]
            art["original"] = prev["original"]
            return art
    if st["big"]:
        # Mostly one article an outlet; some follow-ups from an outlet already on the event.
        coverage = st["coverage"]
        if j < len(coverage) and (j == 0 or r.random() >= 0.15):
            outlet = outlets[coverage[j]]
        else:
            outlet = outlets[r.choice(coverage[:max(1, min(j, len(coverage)))])]
    else:
        outlet = outlets[r.choice(topic["outlets"])]
    web, amp = _urls(outlet, slug, when, aid)
    art.update(web_url=web, provider=r.choice(outlet["names"]), domain=outlet["domain"],
               quality=max(0, outlet["quality"] + r.randint(-10, 10)))
    if amp is not None and r.random() < 0.9:
        art["amp_url"], art["cdn_url"] = amp, _cdn(amp)
    if topic["site"] == "outlet":
        art["original"] = web
    return art


# --------------------------------------------------------------------------- rendering

def _related(s: int, j: int, r: random.Random) -> list[dict]:
    """Related entries of article j: same story mostly, external coverage, some noise."""
    plan = PLAN
    st = _story(s)
    size, external = st["size"], st["external"]
    topic = st["topic"]
    if r.random() < 0.25:
        return []
    # The other articles, k != j, without building the list (big events have hundreds):
    # sampling positions of range(n - 1) draws exactly what sampling the list would.
    others = size + external - 1
    count = min(others, r.randint(1, 13))
    chosen = [(s, k + (k >= j)) for k in r.sample(range(others), count)]
    noise_rate = topic["noise"]
    n_noise = sum(1 for _ in range(max(count, 1)) if r.random() < noise_rate)
    if n_noise:
        t = int(plan.story_topic[s])
        lo, hi = int(plan.topic_bounds[t]), int(plan.topic_bounds[t + 1])
        pos = int(plan.topic_pos[s])
        for _ in range(n_noise):
            near = pos + r.choice((-3, -2, -1, 1, 2, 3))
            if lo <= near < hi:
                other = int(plan.topic_order[near])
                chosen.append((other, r.randrange(int(plan.story_size[other]))))
    entries = []
    seen = set()
    for (os_, k) in chosen[:15]:
        a = _article(os_, k)
        if (os_, k) in seen and r.random() < 0.9:
            continue
        seen.add((os_, k))
        entries.append(a)
    entries.sort(key=lambda a: -a["quality"])
    return entries


def _image(r: random.Random, a: dict, indent: str) -> str:
    if a["video"]:
        url, width, height = f"https://i.ytimg.com/vi/{a['vid']}/maxresdefault.jpg", 1280, 720
    else:
        year = 2023 if a["time"] < YEAR_SECONDS else 2024
        width, height = r.choice(((1200, 675), (1280, 720), (1920, 1080), (800, 450), (1400, 933)))
        url = f"https://cdn.{a['domain']}/images/{year}/{a['slug'][:48]}-{r.randint(1, 9)}.jpg"
    return (f'{indent}- url: "{url}"\n'
            f"{indent}  width: {width}\n{indent}  height: {height}\n{indent}  isCached: true\n")


def _render(s: int, j: int) -> str:
    """The file text of article j of story s, keys in the real order."""
    plan = PLAN
    a = _article(s, j)
    st = _story(s)
    topic = st["topic"]
    r = _rng(plan.seed, 19, s, j)
    out = ["---\ncategory: news\n",
           f'title: "{_escape(a["title"])}"\n',
           f'excerpt: "{_escape(a["excerpt"])}"\n',
           f"publishedDateTime: {_ts(a['time'])}\n"]
    if a["original"]:
        out.append(f'originalUrl: "{a["original"]}"\n')
    if a["web_url"]:
        out.append(f'webUrl: "{a["web_url"]}"\n')
    if a["amp_url"]:
        out.append(f'ampWebUrl: "{a["amp_url"]}"\ncdnAmpWebUrl: "{a["cdn_url"]}"\n')
    out.append("type: video\n" if a["video"] else "type: article\n")
    if topic["site"] == "outlet":
        out.append(f"quality: {a['quality']}\nheat: {a['quality']}\npublished: true\n")
    else:
        out.append("quality: 0\nheat: -1\npublished: false\n")
    if a["video"]:
        out.append('\nfeaturedContent: "<iframe width=\\"800\\" height=\\"500\\" frameborder=\\"0\\" '
                   f'src=\\"https://www.youtube.com/embed/{a["vid"]}\\" allow=\\"accelerometer; autoplay; '
                   'encrypted-media; gyroscope; picture-in-picture\\" allowfullscreen></iframe>"\n')
    out.append(f"\nprovider:\n  name: {a['provider']}\n  domain: {a['domain']}\n")
    if topic["site"] == "vendor" and r.random() < 0.3:
        out.append(f'  images:\n    - url: "https://assets.example-news.org/organizations/{a["domain"]}-50x50.jpg"\n'
                   "      width: 50\n      height: 50\n")
    out.append(f"\ntopics:\n  - {topic['name']}\n")
    if topic["extra_topic"]:
        out.append(f"  - {topic['products'][0]}\n")
    if r.random() < 0.003:
        out.append("  - \n" if r.random() < 0.5 else "  - null\n")
    if r.random() < 0.92:
        out.append("\nimages:\n")
        out.append(_image(r, a, "  "))
    related = _related(s, j, r)
    if related:
        out.append("\nrelated:\n")
        for e in related:
            web = e["web_url"] or ""
            if web and e["amp_url"] and r.random() < 0.05:
                web = e["amp_url"]
            out.append(f'  - title: "{_escape(e["title"])}"\n'
                       f'    excerpt: "{_escape(e["excerpt"])}"\n'
                       f"    publishedDateTime: {_ts(e['time'])}\n"
                       f'    webUrl: "{web}"\n')
            if e["amp_url"]:
                out.append(f'    ampWebUrl: "{e["amp_url"]}"\n    cdnAmpWebUrl: "{e["cdn_url"]}"\n')
            out.append(f"    type: {'video' if e['video'] else 'article'}\n"
                       f"    provider:\n      name: {e['provider']}\n      domain: {e['domain']}\n"
                       f"    quality: {e['quality']}\n")
            if r.random() < 0.8:
                out.append("    images:\n")
                out.append(_image(r, e, "      "))
    secret = base64.b64encode(r.getrandbits(2048).to_bytes(256, "little")).decode()
    salt = base64.b64encode(r.getrandbits(128).to_bytes(16, "little")).decode()
    out.append(f'\nsecured: "{secret};{salt}"\n---\n')
    return "".join(out)


def _shard_name(k: int) -> str:
    return f"{k:04d}"


def render_shard(args: tuple[str, int, int, int]) -> tuple[int, list[tuple[str, str]], int]:
    """Write files [lo, hi) of the time order into folder k; return truth rows and bytes."""
    out_dir, k, lo, hi = args
    plan = PLAN
    folder = Path(out_dir) / _shard_name(k)
    folder.mkdir(parents=True, exist_ok=True)
    rows: list[tuple[str, str]] = []
    used: set[str] = set()
    written = 0
    for idx in plan.order[lo:hi]:
        s, j = int(plan.art_story[idx]), int(plan.art_j[idx])
        a = _article(s, j)
        name = f"{_ts(a['time'])[:10]}-{a['slug']}.md"
        if name in used:
            n = 2
            while f"{name[:-3]}-{n}.md" in used:
                n += 1
            name = f"{name[:-3]}-{n}.md"
        used.add(name)
        data = _render(s, j).encode("utf-8")
        with open(folder / name, "wb") as handle:
            handle.write(data)
        written += len(data)
        rows.append((f"{_shard_name(k)}/{name}", f"story-{s:07d}"))
    return k, rows, written


def generate(n: int, out_dir: str | os.PathLike, seed: int = 0, jobs: int | None = None,
             per_folder: int = 5000, log=None, dense: bool = False) -> dict:
    """Write the corpus and ``<out_dir>.truth.tsv``; return counts and timings.

    ``dense``: the dense regime (big events of 50-500 articles, see the module docstring)."""
    started = time.perf_counter()
    out = Path(out_dir)
    if out.exists() and any(out.iterdir()):
        raise SystemExit(f"{out}: exists and is not empty")
    out.mkdir(parents=True, exist_ok=True)
    plan = Plan(n, seed, dense)
    planned = time.perf_counter()
    shards = [(str(out), k, lo, min(lo + per_folder, n)) for k, lo in enumerate(range(0, n, per_folder))]
    jobs = jobs or os.cpu_count() or 1
    results: list[tuple[int, list[tuple[str, str]], int]] = []
    if jobs == 1 or len(shards) == 1:
        _init_worker(plan)
        results = [render_shard(a) for a in shards]
    else:
        ctx = multiprocessing.get_context("fork" if "fork" in multiprocessing.get_all_start_methods() else None)
        with ctx.Pool(jobs, initializer=_init_worker, initargs=(plan,)) as pool:
            for done, res in enumerate(pool.imap_unordered(render_shard, shards), 1):
                results.append(res)
                if log:
                    log(f"  folder {done}/{len(shards)}")
    results.sort(key=lambda x: x[0])
    # Written last and renamed into place: its presence means the corpus is complete.
    truth = Path(str(out) + ".truth.tsv")
    partial = truth.with_name(truth.name + ".part")
    with open(partial, "w", encoding="utf-8", newline="\n") as handle:
        handle.write("file\tstory\n")
        for _, rows, _ in results:
            rows.sort()
            handle.writelines(f"{f}\t{lab}\n" for f, lab in rows)
    os.replace(partial, truth)
    elapsed = time.perf_counter() - started
    sizes = plan.story_size
    stats = {
        "files": n, "folders": len(shards), "bytes": sum(w for _, _, w in results),
        "stories": int(len(sizes)), "singletons": int((sizes == 1).sum()),
        "largest": int(sizes.max()), "topics": plan.topics,
        "plan_s": planned - started, "seconds": elapsed, "truth": str(truth), "dense": dense,
    }
    if dense:
        big = sizes[plan.small_stories:]
        stats.update(span_days=plan.span_days, big_events=int(len(big)), big_articles=int(big.sum()),
                     big_min=int(big.min()) if len(big) else 0, big_max=int(big.max()) if len(big) else 0)
    return stats


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("n", type=int, help="number of news items")
    parser.add_argument("out_dir", help="folder to create (must be absent or empty)")
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--jobs", type=int, default=None, help="worker processes (default: all CPUs)")
    parser.add_argument("--per-folder", type=int, default=5000, help="files per subfolder")
    parser.add_argument("--dense", action="store_true",
                        help="dense regime: ~3 big events a day of 50-500 articles each, span scaled with N")
    args = parser.parse_args(argv)
    if args.n < 1:
        parser.error("N must be at least 1")
    stats = generate(args.n, args.out_dir, args.seed, args.jobs, args.per_folder,
                     log=lambda m: print(m, file=sys.stderr, flush=True) if args.n >= 100_000 else None,
                     dense=args.dense)
    dense = ""
    if stats["dense"]:
        dense = f"dense: {stats['span_days']:.1f} days, {stats['big_events']:,} big events"
        if stats["big_events"]:
            dense += (f" ({stats['big_min']}-{stats['big_max']} articles, {stats['big_articles']:,} in all, "
                      f"{stats['big_articles'] / stats['files']:.0%} of items)")
        dense += ", "
    print(f"wrote {stats['files']:,} files ({stats['bytes'] / 1e6:,.1f} MB) in {stats['folders']} folders, "
          f"{stats['stories']:,} stories ({stats['singletons']:,} single, largest {stats['largest']}), "
          f"{stats['topics']:,} topics, {dense}in {stats['seconds']:.1f} s "
          f"({stats['files'] / stats['seconds']:,.0f} files/s); truth: {stats['truth']}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
