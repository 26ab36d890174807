"""Money: integer fen in the database, Decimal yuan at the edges, never float (DESIGN §5)."""

from decimal import ROUND_HALF_UP, Decimal, InvalidOperation

from flask_babel import lazy_gettext as _l

from portal.core.errors import ServiceError

FEN = Decimal("0.01")
MAX_FEN = 10_000_000_000  # 100 million yuan: no single amount is larger


def parse_yuan(raw, *, field: str = "amount", allow_zero: bool = False) -> int:
    """Fen from what a person typed ("1234.50"): positive, at most two decimals."""
    text = str(raw if raw is not None else "").strip().replace(",", "")
    try:
        value = Decimal(text)
    except InvalidOperation:
        raise ServiceError(
            _l("Enter an amount like 1234.50."), fields={field: "not a number"}
        ) from None
    if not value.is_finite():
        raise ServiceError(_l("Enter an amount like 1234.50."), fields={field: "not a number"})
    if value.as_tuple().exponent < -2:
        raise ServiceError(
            _l("An amount has at most two decimals (fen)."), fields={field: "too many decimals"}
        )
    if value < 0 or (value == 0 and not allow_zero):
        raise ServiceError(_l("The amount must be more than zero."), fields={field: "not positive"})
    if value >= Decimal(MAX_FEN) / 100:  # before to_fen: 1e400 would not quantize
        raise ServiceError(_l("The amount is too large."), fields={field: "too large"})
    fen = to_fen(value)
    if fen >= MAX_FEN:
        raise ServiceError(_l("The amount is too large."), fields={field: "too large"})
    return fen


def yuan(fen: int | None) -> str:
    """ "1234.50" for 123450 fen (the API's money format)."""
    if fen is None:
        return ""
    sign = "-" if fen < 0 else ""
    fen = abs(int(fen))
    return f"{sign}{fen // 100}.{fen % 100:02d}"


def to_fen(value: Decimal) -> int:
    """Fen of a Decimal yuan amount with at most two decimals."""
    return int(value.quantize(FEN) * 100)


def to_decimal(fen: int) -> Decimal:
    return (Decimal(int(fen)) / 100).quantize(FEN)


def share(fen: int, numerator: int, denominator: int) -> int:
    """fen × numerator / denominator, rounded half up to a whole fen."""
    if denominator <= 0:
        raise ValueError("denominator must be positive")
    return int(
        (Decimal(int(fen)) * numerator / denominator).quantize(Decimal(1), rounding=ROUND_HALF_UP)
    )


def chinese_upper(fen: int) -> str:
    """The amount in Chinese capital numerals, as a receipt writes it (人民币大写)."""
    digits = "零壹贰叁肆伍陆柒捌玖"
    fen = int(fen)
    prefix = "负" if fen < 0 else ""
    fen = abs(fen)
    whole, jiao, cent = fen // 100, fen // 10 % 10, fen % 10
    text = _upper_whole(whole, digits) + "元" if whole else ""
    if not jiao and not cent:
        return prefix + (text or "零元") + "整"
    if jiao:
        text += digits[jiao] + "角"
    elif text:
        text += "零"
    if cent:
        text += digits[cent] + "分"
    else:
        text += "整"
    return prefix + text


def _upper_whole(number: int, digits: str) -> str:
    places = ["", "拾", "佰", "仟"]
    groups = ["", "万", "亿", "万亿"]
    chunks = []
    while number:
        chunks.append(number % 10000)
        number //= 10000
    text, pending_zero = "", False
    for index in range(len(chunks) - 1, -1, -1):
        chunk = chunks[index]
        if chunk == 0:
            pending_zero = bool(text)
            continue
        if text and (pending_zero or chunk < 1000):
            text += "零"
        pending_zero = False
        part, zero = "", False
        for place in range(3, -1, -1):
            d = chunk // 10**place % 10
            if d:
                part += ("零" if zero else "") + digits[d] + places[place]
                zero = False
            elif part:
                zero = True
        text += part + groups[index]
    return text
