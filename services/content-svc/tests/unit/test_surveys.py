"""Surveys: answers checked against their questions, once per member, NPS computed by its definition."""

import uuid

import pytest

from content_svc.exceptions import AlreadyAnswered, InvalidAnswers
from content_svc.surveys import service as surveys
from content_svc.surveys.schemas import Question, SurveyAnswerCreate, SurveyCreate

from .conftest import OUTBOX, TENANT, World

pytestmark = pytest.mark.unit

QUESTIONS = [
    Question(id="nps", text="你有多大可能把我们推荐给朋友?", kind="nps"),
    Question(id="liked", text="最喜欢哪类内容", kind="single_choice", options=["食谱", "育儿", "优惠"]),
    Question(id="why", text="还想看什么", kind="text", required=False),
]


async def new_survey(world: World):  # type: ignore[no-untyped-def]
    survey_in = SurveyCreate(title="满意度调查", questions=QUESTIONS)
    return await surveys.create_survey(
        session=world.session, outbox=OUTBOX, lexicon=world.lexicon, tenant_id=TENANT, survey_in=survey_in
    )


async def answer(world: World, survey_id: uuid.UUID, answers: dict, member_id: uuid.UUID | None = None):  # type: ignore[no-untyped-def, type-arg]
    body = SurveyAnswerCreate(member_id=member_id or uuid.uuid4(), answers=answers)
    return await surveys.answer(
        session=world.session,
        outbox=OUTBOX,
        lexicon=world.lexicon,
        tenant_id=TENANT,
        survey_id=survey_id,
        answer_in=body,
    )


async def test_every_bad_answer_is_reported_at_once_and_nothing_is_kept(world: World) -> None:
    survey = await new_survey(world)
    with pytest.raises(InvalidAnswers) as refused:
        await answer(world, survey.id, {"nps": 11, "liked": "旅游", "extra": 1})
    fields = {e["field"] for e in refused.value.extensions["errors"]}
    assert fields == {"answers.nps", "answers.liked", "answers.extra"}
    for bad in (-1, 7.5, True, "9"):
        with pytest.raises(InvalidAnswers):
            await answer(world, survey.id, {"nps": bad, "liked": "食谱"})
    assert (await surveys.results_of(session=world.session, tenant_id=TENANT, survey_id=survey.id)).respondents == 0


async def test_a_member_answers_once_and_the_answer_is_told(world: World) -> None:
    survey = await new_survey(world)
    member_id = uuid.uuid4()
    await answer(world, survey.id, {"nps": 9, "liked": "食谱", "why": "想看辅食, 电话13812345678"}, member_id)
    with pytest.raises(AlreadyAnswered):
        await answer(world, survey.id, {"nps": 3, "liked": "育儿"}, member_id)
    [told] = [p for t, p in await world.events() if t == "survey.answered"]
    assert (told.member_id, told.nps, told.answers["liked"]) == (member_id, 9, "食谱")
    assert "13812345678" not in told.answers["why"]


async def test_nps_is_promoters_minus_detractors(world: World) -> None:
    survey = await new_survey(world)
    for score in (10, 9, 9, 8, 7, 6, 0, 10, 9, 3):
        await answer(world, survey.id, {"nps": score, "liked": "优惠"})
    results = await surveys.results_of(session=world.session, tenant_id=TENANT, survey_id=survey.id)
    assert (results.promoters, results.passives, results.detractors) == (5, 2, 3)
    assert results.nps == 20.0
    liked = next(q for q in results.questions if q.id == "liked")
    assert liked.counts == {"优惠": 10}
