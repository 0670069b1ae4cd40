"""EventBridge's input transformer with AWS's quoting (helpers/emulator/input_transformer.py),
on its own and on the targets moto delivers (eb-transform-target-input.md's examples)."""

from __future__ import annotations

import json

from helpers.emulator.input_transformer import transform

EVENT = {
    "version": "0",
    "id": "7bf73129-1428-4cd3-a780-95db273d1602",
    "detail-type": "EC2 Instance State-change Notification",
    "source": "aws.ec2",
    "account": "123456789012",
    "region": "us-east-1",
    "resources": ["arn:aws:ec2:us-east-1:123456789012:instance/i-abcd1111"],
    "detail": {"instance-id": "i-0123456789", "state": "RUNNING"},
}
PATHS = {"instance": "$.detail.instance-id", "state": "$.detail.state"}


def test_a_variable_as_a_json_value_gets_the_quotes_a_string_needs():
    # The guide's "values are JSON" example.
    template = '{"instance": <instance>, "state": [9, <state>, true], "Transformed": "Yes"}'
    assert transform(template, PATHS, EVENT) == {
        "instance": "i-0123456789",
        "state": [9, "RUNNING", True],
        "Transformed": "Yes",
    }


def test_a_variable_inside_quotes_is_inserted_as_text_escaped():
    event = {**EVENT, "detail": {"instance-id": 'say "hi"', "state": "RUNNING"}}
    assert transform('"instance <instance> is in <state>"', PATHS, event) == (
        'instance say "hi" is in RUNNING'
    )
    assert transform('{"all": "<detail>"}', {"detail": "$.detail"}, EVENT) == {
        "all": json.dumps(EVENT["detail"])
    }


def test_objects_numbers_and_missing_paths():
    event = {**EVENT, "detail": {"n": 3, "list": [1, "a"]}}
    paths = {"n": "$.detail.n", "list": "$.detail.list", "gone": "$.detail.nothing"}
    assert transform(
        '{"n": <n>, "list": <list>, "gone": <gone>, "text": "<gone>"}', paths, event
    ) == {
        "n": 3,
        "list": [1, "a"],
        "gone": None,
        "text": "",
    }


def test_predefined_variables_and_the_whole_event():
    got = transform(
        '{"rule": <aws.events.rule-name>, "event": <aws.events.event.json>}',
        {},
        EVENT,
        **{"aws.events.rule-name": "r"},
    )
    assert got == {"rule": "r", "event": EVENT}


def test_put_events_reach_an_sqs_target_through_the_transformer(client):
    sqs, events = client("sqs"), client("events")
    url = sqs.create_queue(QueueName="inbox")["QueueUrl"]
    arn = sqs.get_queue_attributes(QueueUrl=url, AttributeNames=["QueueArn"])["Attributes"][
        "QueueArn"
    ]
    events.put_rule(Name="ec2", EventPattern=json.dumps({"source": ["lab.ec2"]}))
    events.put_targets(
        Rule="ec2",
        Targets=[
            {
                "Id": "q",
                "Arn": arn,
                "InputTransformer": {
                    "InputPathsMap": PATHS,
                    "InputTemplate": '{"instance": <instance>, "state": <state>}',
                },
            }
        ],
    )
    events.put_events(
        Entries=[
            {
                "Source": "lab.ec2",
                "DetailType": "state",
                "Detail": json.dumps(EVENT["detail"]),
            }
        ]
    )
    [message] = sqs.receive_message(QueueUrl=url)["Messages"]
    assert json.loads(message["Body"]) == {"instance": "i-0123456789", "state": "RUNNING"}
