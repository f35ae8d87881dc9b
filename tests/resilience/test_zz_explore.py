import json, time
from tests.api.helpers import ready_prisoner_and_pom, allocate
from allocation_api.upstream.fakes import Fault

Q = """query($no: String!) { prisoner(offenderNo: $no) { offenderNo firstName lastName dateOfBirth prisonId legalStatus
 sentence { releaseDate } omicEligible handover { reason } responsibility recommendedPomType
 caseInformation { tier version } allocation { version primaryPomStaffId primaryPomName history { event allocationVersion }
 primaryPom { staffId firstName lastName status workingPattern } prisoner { firstName } } } }"""


def show(label, body, t):
    print("==", label, f"{t:.2f}s")
    print(" data:", json.dumps(body.get("data")))
    for e in body.get("errors", []):
        print(" err:", e.get("path"), e["extensions"], e["message"][:100])
    print(" ext:", body.get("extensions"))


async def test_explore(fault_api, box):
    no, pom = await ready_prisoner_and_pom(fault_api)
    a = await allocate(fault_api, no, pom["staffId"])
    print(a["__typename"])
    for mode in ["error", "hang", "malformed", "truncate"]:
        box.set_fault("prisoner-search", Fault(status=503, mode=mode))
        t = time.perf_counter()
        body = await fault_api.gql(Q, {"no": no})
        show(mode, body, time.perf_counter() - t)
    box.clear_faults()
    for mode in ["error", "hang", "malformed", "truncate"]:
        box.set_fault("prison-api", Fault(status=503, mode=mode))
        t = time.perf_counter()
        body = await fault_api.gql(Q, {"no": no})
        show("prison-api " + mode, body, time.perf_counter() - t)
    box.clear_faults()
    no2, pom2 = await ready_prisoner_and_pom(fault_api)
    box.set_fault("prison-api", Fault(status=503))
    r = await allocate(fault_api, no2, pom2["staffId"])
    print(r)
    box.clear_faults()
    box.set_fault("prisoner-search", Fault(status=503))
    r = await fault_api.gql(
        """mutation($input: DeallocateInput!) { deallocatePrimaryPom(input: $input) { __typename ... on Allocation { version primaryPomStaffId } ... on Error { code message } } }""",
        {"input": {"offenderNo": no}},
    )
    print(r)
