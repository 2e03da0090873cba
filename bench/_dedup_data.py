"""The duplicate matcher's labelled synthetic set (bench/dedup.py): households of ~3.5 people
over 16 counties, with injected duplicates of each kind issue 26 names and look-alikes that are
different people. Vectorised (numpy, Arrow): a million members in seconds.

Duplicates (each a second record of a person already registered; ``person_id`` says who):
- ``married_daughter`` 一人多户: a daughter also in her husband's household (another village),
  as ``spouse``, her ID number mistyped;
- ``mistyped_id``: the same person in another village under a mistyped ID number (one digit,
  two adjacent digits swapped, or, in old data, only the check character);
- ``homophone_child``: a child entered twice in one household with a homophone or longer name
  (张伟 / 章伟, 李娜 / 李娜娜), under a mistyped or another ID number of the same birth date;
- ``relocated`` 易地扶贫搬迁: a whole household registered again in the town it moved to.
Look-alikes (different people): ``twin`` (same household, birth date, ID number but the
sequence code, another name) and ``namesake`` (the same name in the same village)."""

import datetime as dt

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

COUNTIES = [
    "522301", "522302", "522323", "522324", "522325", "522326", "522327", "522328",
    "520102", "520103", "520111", "520112", "520113", "520115", "520121", "520122",
]  # fmt: skip
SURNAMES = list(
    "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗郑梁谢宋唐许韩冯邓曹彭曾肖田董袁潘于蒋蔡余杜叶程"
    "苏魏吕丁任沈姚卢姜崔钟谭陆汪范金石廖贾夏韦付方白邹孟熊秦邱江尹薛闫段雷侯龙史陶黎贺顾"
    "毛郝龚邵万钱严覃武戴莫孔向汤"
)
GIVEN = list(
    "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华玉兰红梅云飞鹏辉建国文亮成林"
    "海波宇浩凯婷雪琴燕萍春兰金凤志刚斌斌宏俊峰晨欣怡佳琪子涵梓轩思雨晓东旭光福贵"
    "荣昌顺发德才兴旺翠莲翠花秋菊冬梅玲倩颖慧婉蕾莉薇露琳瑶珍贞丹彬彪虎龙豪毅"
)
# Homophones a clerk types for one another (同音字).
HOMOPHONES = {
    "张": "章", "章": "张", "伟": "卫", "卫": "伟", "丽": "莉", "莉": "丽", "军": "君",
    "君": "军", "敏": "民", "静": "晶", "芳": "方", "杰": "洁", "明": "铭", "华": "化",
    "玲": "铃", "琳": "林", "林": "琳", "涛": "滔", "红": "宏", "宏": "红", "燕": "艳",
    "艳": "燕", "平": "萍", "萍": "平", "英": "莹", "刚": "钢", "强": "蔷", "勇": "永",
    "辉": "晖", "俊": "骏", "峰": "锋", "梅": "媚", "霞": "夏", "兰": "岚", "秀": "修",
}  # fmt: skip
WEIGHTS = np.array([7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2])
CHECK = np.array(list("10X98765432"))
EPOCH = np.datetime64("1940-01-01")
DAYS = (np.datetime64("2020-12-31") - EPOCH).astype(int)
RELATIONS = np.array(["head", "spouse", "child", "child", "child", "parent"])


def _digits(ids17: np.ndarray) -> np.ndarray:
    return ids17.view("U1").reshape(len(ids17), 17).astype(np.int64)


def with_check(ids17: np.ndarray) -> np.ndarray:
    """GB 11643: the check character of each 17-digit prefix, appended."""
    ids17 = np.asarray(ids17).astype("U17")
    check = CHECK[(_digits(ids17) @ WEIGHTS) % 11]
    return np.char.add(ids17, check)


def _ids17(county: np.ndarray, born: np.ndarray, seq: np.ndarray) -> np.ndarray:
    ymd = np.char.replace(np.datetime_as_string(born, unit="D"), "-", "")
    return np.char.add(np.char.add(county.astype("U6"), ymd), np.char.zfill(seq.astype("U3"), 3))


def _names(rng: np.random.Generator, surname: np.ndarray) -> np.ndarray:
    n = len(surname)
    first = np.array(GIVEN)[rng.integers(0, len(GIVEN), n)]
    second = np.where(rng.random(n) < 0.7, np.array(GIVEN)[rng.integers(0, len(GIVEN), n)], "")
    return np.char.add(np.char.add(surname, first), second)


def _mistype(rng: np.random.Generator, ids: np.ndarray) -> np.ndarray:
    """One digit changed (60 %) or two adjacent digits swapped, outside the month and day (a
    number whose date does not exist is refused at entry); the check character recomputed,
    as the registry would refuse it otherwise."""
    d = _digits(np.array([i[:17] for i in ids]))
    n = len(ids)
    rows = np.arange(n)
    places = np.array([0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 14, 15, 16])
    pos = places[rng.integers(2, len(places), n)]
    swap = (
        (rng.random(n) < 0.4)
        & (pos < 16)
        & (pos != 9)
        & (d[rows, np.minimum(pos + 1, 16)] != d[rows, pos])
    )
    nxt = np.minimum(pos + 1, 16)
    a, b = d[rows, pos].copy(), d[rows, nxt].copy()
    d[rows[swap], pos[swap]], d[rows[swap], nxt[swap]] = b[swap], a[swap]
    one = ~swap
    d[rows[one], pos[one]] = (d[rows[one], pos[one]] + rng.integers(1, 10, one.sum())) % 10
    # A year digit mistyped into a year that has no such day (29 February) or the future.
    ids17 = np.array(["".join(map(str, row)) for row in d])
    return with_check(ids17)


def _variant(rng: np.random.Generator, name: str) -> str:
    """A homophone of one character, the last character doubled (李娜 / 李娜娜), or dropped."""
    spots = [k for k, c in enumerate(name) if c in HOMOPHONES]
    roll = rng.random()
    if spots and roll < 0.6:
        k = spots[int(rng.integers(0, len(spots)))]
        return name[:k] + HOMOPHONES[name[k]] + name[k + 1 :]
    if len(name) == 2 or roll < 0.85:
        return name + name[-1]
    return name[:-1]


def generate(members: int, dup_rate: float = 0.02, seed: int = 26) -> tuple[pa.Table, pa.Table]:
    """``(households, people)``: ``people`` has the matcher's columns plus ``person_id`` (who
    the record is) and ``kind`` (``original``, a duplicate kind, or a look-alike kind)."""
    rng = np.random.default_rng(seed)
    n_dups = int(members * dup_rate)
    base = members - n_dups
    n_house = max(1, int(base / 3.5))
    county = np.array(COUNTIES)[rng.integers(0, len(COUNTIES), n_house)]
    village = np.char.add(
        np.char.add(county, np.char.zfill(rng.integers(101, 111, n_house).astype("U3"), 3)),
        np.char.zfill(rng.integers(1, 51, n_house).astype("U3"), 3),
    )
    phone = np.char.add("139", np.char.zfill(rng.integers(0, 10**8, n_house).astype("U8"), 8))
    house_surname = np.array(SURNAMES)[np.minimum(rng.zipf(1.3, n_house) - 1, len(SURNAMES) - 1)]
    # Members: each household gets people until ``base``; the first is the head.
    home = np.sort(rng.integers(0, n_house, base))
    home[:n_house] = np.arange(n_house) if base >= n_house else home[:n_house]
    home = np.sort(home)
    first = np.r_[True, home[1:] != home[:-1]]
    order = np.arange(base) - np.maximum.accumulate(np.where(first, np.arange(base), 0))
    relation = np.where(order == 0, "head", RELATIONS[np.minimum(order, 5)])
    surname = np.where(
        relation == "spouse",
        np.array(SURNAMES)[rng.integers(0, len(SURNAMES), base)],
        house_surname[home],
    )
    name = _names(rng, surname)
    born = EPOCH + rng.integers(0, DAYS, base).astype("timedelta64[D]")
    male = rng.random(base) < 0.5
    seq = rng.integers(0, 500, base) * 2 + male
    kind = np.full(base, "original", dtype="U16")
    # Look-alikes: a twin beside 1 % of children, a namesake in the village for 1 % of people.
    twin = np.flatnonzero((relation == "child") & (rng.random(base) < 0.01))
    second, elder = twin[1::2], twin[::2][: len(twin[1::2])]
    born[second], home[second] = born[elder], home[elder]
    seq[second] = (seq[elder] + 2) % 1000
    surname[second] = surname[elder]
    name[second] = _names(rng, surname[second])
    kind[second] = "twin"
    # Namesakes: the next person of the same village (another household) takes the name.
    by_village = np.argsort(village[home], kind="stable")
    here, there = by_village[:-1], by_village[1:]
    alike = (
        (village[home[here]] == village[home[there]])
        & (home[here] != home[there])
        & (kind[there] == "original")
        & (rng.random(base - 1) < 0.02)
    )
    name[there[alike]] = name[here[alike]]
    kind[there[alike]] = "namesake"
    ids = with_check(_ids17(county[home], born, seq))
    _, first_seen = np.unique(ids, return_index=True)
    keep = np.zeros(base, bool)
    keep[first_seen] = True
    person = np.arange(base)
    # Duplicates: copies of existing people, mutated by kind.
    shares = {"married_daughter": 0.2, "mistyped_id": 0.25, "homophone_child": 0.2}
    rows: dict[str, list[np.ndarray]] = {k: [] for k in ("src", "home", "rel", "kind")}
    girls = np.flatnonzero((relation == "child") & ~male & keep)
    children = np.flatnonzero((relation == "child") & keep)
    everyone = np.flatnonzero(keep)
    plan = {k: int(n_dups * s) for k, s in shares.items()}
    plan["relocated"] = n_dups - sum(plan.values())
    pick = {"married_daughter": girls, "mistyped_id": everyone, "homophone_child": children}
    for k, count in plan.items():
        if k == "relocated":
            heads = rng.choice(np.flatnonzero(first), size=count, replace=False)
            src = np.concatenate(
                [np.arange(h, h + np.argmax(np.r_[first[h + 1 :], True]) + 1) for h in heads]
            )[:count]
            new_home = n_house + np.cumsum(first[src]) - 1
            rel = relation[src]
        else:
            src = rng.choice(pick[k], size=count, replace=False)
            other = rng.integers(0, n_house, count)
            new_home = home[src] if k == "homophone_child" else other
            rel = np.where(k == "married_daughter", "spouse", relation[src])
            if k == "mistyped_id":
                rel = RELATIONS[rng.integers(0, 6, count)]
        rows["src"].append(src)
        rows["home"].append(new_home)
        rows["rel"].append(np.asarray(rel, dtype="U16"))
        rows["kind"].append(np.full(len(src), k, dtype="U16"))
    src = np.concatenate(rows["src"])
    dup_kind = np.concatenate(rows["kind"])
    dup_home = np.concatenate(rows["home"])
    moved = dup_home >= n_house
    n_new = int(dup_home.max() + 1 - n_house) if moved.any() else 0
    # Relocated households: a village elsewhere (易地扶贫搬迁安置点), the same phone for half.
    new_county = np.array(COUNTIES)[rng.integers(0, len(COUNTIES), n_new)]
    new_village = np.char.add(
        new_county, np.char.zfill(rng.integers(101, 999, n_new).astype("U6"), 6)
    )
    village = np.concatenate([village, new_village])
    old_phone = phone[home[src[moved]]]
    new_phone = np.char.add("138", np.char.zfill(rng.integers(0, 10**8, n_new).astype("U8"), 8))
    same = rng.random(moved.sum()) < 0.5
    new_phone[(dup_home[moved] - n_house)[same]] = old_phone[same]
    phone = np.concatenate([phone, new_phone])
    dup_ids = _mistype(rng, ids[src])
    legacy = (dup_kind == "mistyped_id") & (rng.random(len(src)) < 0.1)
    dup_ids[legacy] = np.char.add(np.array([i[:17] for i in ids[src[legacy]]]), "0")
    other_seq = (dup_kind == "homophone_child") & (rng.random(len(src)) < 0.5)
    dup_ids[other_seq] = with_check(
        np.array([i[:14] for i in ids[src[other_seq]]], dtype="U14").astype(object)
        + np.char.zfill(
            ((seq[src[other_seq]] + rng.integers(11, 500, other_seq.sum()) * 2) % 1000).astype(
                "U3"
            ),
            3,
        ).astype(object)
    )
    dup_name = name[src].copy()
    variant = (dup_kind == "homophone_child") | (
        (dup_kind == "married_daughter") & (rng.random(len(src)) < 0.1)
    )
    dup_name[variant] = [_variant(rng, n) for n in name[src[variant]]]
    all_ids = np.concatenate([ids[keep], dup_ids])
    _, unique_at = np.unique(all_ids, return_index=True)
    people_keep = np.zeros(len(all_ids), bool)
    people_keep[unique_at] = True
    base_keep = np.flatnonzero(keep)
    birth = _birth_of(all_ids)
    sex = np.where(
        np.char.isdigit(np.array([i[16] for i in all_ids])),
        np.array([int(i[16]) % 2 for i in all_ids]),
        0,
    )
    table_home = np.concatenate([home[base_keep], dup_home])
    people = pa.table(
        {
            "member_id": _uuids(len(all_ids), 1),
            "household_id": _uuids(n_house + n_new, 2)[table_home],
            "region_code": village[table_home],
            "name": np.concatenate([name[base_keep], dup_name]),
            "id_number": all_ids,
            "sex": np.where(sex == 1, "male", "female"),
            "birth_date": pa.array(birth, pa.date32()),
            "phone": phone[table_home],
            "relation": np.concatenate([relation[base_keep], np.concatenate(rows["rel"])]),
            "person_id": np.concatenate([person[base_keep], person[src]]),
            "kind": np.concatenate([kind[base_keep], dup_kind]),
        }
    ).filter(pa.array(people_keep & ~np.isnat(birth)))
    used = np.unique(
        pc.cast(people.column("household_id"), pa.string()).to_numpy(zero_copy_only=False)
    )
    households = pa.table(
        {
            "id": _uuids(n_house + n_new, 2),
            "region_code": village,
            "phone": phone,
            "household_no": np.char.add("DD", np.arange(n_house + n_new).astype("U9")),
        }
    )
    households = households.filter(pc.is_in(households.column("id"), pa.array(used)))
    return households, people


def _birth_of(ids: np.ndarray) -> np.ndarray:
    text = np.array([f"{i[6:10]}-{i[10:12]}-{i[12:14]}" for i in ids])
    out = np.full(len(ids), np.datetime64("NaT"), dtype="datetime64[D]")
    for k, t in enumerate(text):
        try:
            day = dt.date.fromisoformat(t)
        except ValueError:
            continue
        if dt.date(1900, 1, 1) <= day <= dt.date(2025, 12, 31):
            out[k] = np.datetime64(day)
    return out


def _uuids(n: int, tag: int) -> np.ndarray:
    """Distinct, time-ordered-looking UUID strings (the order of creation)."""
    hexes = np.char.zfill(np.array([format(i, "x") for i in range(n)]), 12)
    return np.char.add(f"0000000{tag}-0000-4000-8000-", hexes)
