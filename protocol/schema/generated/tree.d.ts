import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';
export interface TreeEnvelope {
    attach?: TreeAttach;
    attached?: TreeAttached;
    report?: TreeReport;
    reportAck?: TreeReportAck;
    funding?: TreeFunding;
    fundingReply?: TreeFundingReply;
    detach?: TreeDetach;
    detached?: TreeDetached;
    error?: TreeError;
}
export declare namespace TreeEnvelope {
    const codec: () => Codec<TreeEnvelope>;
    interface TreeEnvelopeAttachProofAccountFieldEvent {
        field: '$.attach.proof.account';
        value: bigint;
    }
    interface TreeEnvelopeAttachProofExpiresFieldEvent {
        field: '$.attach.proof.expires';
        value: bigint;
    }
    interface TreeEnvelopeAttachProofSignatureFieldEvent {
        field: '$.attach.proof.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeEnvelopeAttachAddrsFieldEvent {
        field: '$.attach.addrs[]';
        index: number;
        value: string;
    }
    interface TreeEnvelopeAttachEndpointFieldEvent {
        field: '$.attach.endpoint';
        value: string;
    }
    interface TreeEnvelopeAttachLocationFieldEvent {
        field: '$.attach.location';
        value: string;
    }
    interface TreeEnvelopeAttachEpochFieldEvent {
        field: '$.attach.epoch';
        value: bigint;
    }
    interface TreeEnvelopeAttachedParentAccountFieldEvent {
        field: '$.attached.parent.account';
        value: bigint;
    }
    interface TreeEnvelopeAttachedParentAddrsFieldEvent {
        field: '$.attached.parent.addrs[]';
        index: number;
        value: string;
    }
    interface TreeEnvelopeAttachedOriginAccountFieldEvent {
        field: '$.attached.origin.account';
        value: bigint;
    }
    interface TreeEnvelopeAttachedOriginAddrsFieldEvent {
        field: '$.attached.origin.addrs[]';
        index: number;
        value: string;
    }
    interface TreeEnvelopeAttachedAncestorsAccountFieldEvent {
        field: '$.attached.ancestors[].account';
        value: bigint;
        index: number;
    }
    interface TreeEnvelopeAttachedAncestorsAddrsFieldEvent {
        field: '$.attached.ancestors[].addrs[]';
        index: number;
        value: string;
    }
    interface TreeEnvelopeAttachedPolicyVersionFieldEvent {
        field: '$.attached.policy.version';
        value: number;
    }
    interface TreeEnvelopeAttachedPolicyWeightBpsFieldEvent {
        field: '$.attached.policy.weightBps';
        value: number;
    }
    interface TreeEnvelopeAttachedPolicyMigrateThresholdBpsFieldEvent {
        field: '$.attached.policy.migrateThresholdBps';
        value: number;
    }
    interface TreeEnvelopeAttachedPolicyReplicateThresholdBpsFieldEvent {
        field: '$.attached.policy.replicateThresholdBps';
        value: number;
    }
    interface TreeEnvelopeAttachedPolicyTerminateThresholdBpsFieldEvent {
        field: '$.attached.policy.terminateThresholdBps';
        value: number;
    }
    interface TreeEnvelopeAttachedPolicyMaxPricePerSecondFieldEvent {
        field: '$.attached.policy.maxPricePerSecond';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeEnvelopeAttachedPolicyMaxRelayFeeFieldEvent {
        field: '$.attached.policy.maxRelayFee';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeEnvelopeAttachedPolicyRelayAllowancePerDayFieldEvent {
        field: '$.attached.policy.relayAllowancePerDay';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeEnvelopeAttachedProofAccountFieldEvent {
        field: '$.attached.proof.account';
        value: bigint;
    }
    interface TreeEnvelopeAttachedProofExpiresFieldEvent {
        field: '$.attached.proof.expires';
        value: bigint;
    }
    interface TreeEnvelopeAttachedProofSignatureFieldEvent {
        field: '$.attached.proof.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeEnvelopeAttachedPlaceEndpointFieldEvent {
        field: '$.attached.place.endpoint';
        value: string;
    }
    interface TreeEnvelopeAttachedPlaceLocationFieldEvent {
        field: '$.attached.place.location';
        value: string;
    }
    interface TreeEnvelopeAttachedPlaceInstanceIdFieldEvent {
        field: '$.attached.place.instanceId';
        value: bigint;
    }
    interface TreeEnvelopeAttachedSuccessorAccountFieldEvent {
        field: '$.attached.successor.account';
        value: bigint;
    }
    interface TreeEnvelopeAttachedSuccessorAddrsFieldEvent {
        field: '$.attached.successor.addrs[]';
        index: number;
        value: string;
    }
    interface TreeEnvelopeReportProofAccountFieldEvent {
        field: '$.report.proof.account';
        value: bigint;
    }
    interface TreeEnvelopeReportProofExpiresFieldEvent {
        field: '$.report.proof.expires';
        value: bigint;
    }
    interface TreeEnvelopeReportProofSignatureFieldEvent {
        field: '$.report.proof.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeEnvelopeReportSubnetsSubnetFieldEvent {
        field: '$.report.subnets[].subnet';
        value: string;
        index: number;
    }
    interface TreeEnvelopeReportSubnetsRateFieldEvent {
        field: '$.report.subnets[].rate';
        value: number;
        index: number;
    }
    interface TreeEnvelopeReportSubnetsLatencyMsFieldEvent {
        field: '$.report.subnets[].latencyMs';
        value: number;
        index: number;
    }
    interface TreeEnvelopeReportSubnetsRequestsFieldEvent {
        field: '$.report.subnets[].requests';
        value: bigint;
        index: number;
    }
    interface TreeEnvelopeReportEndpointFieldEvent {
        field: '$.report.endpoint';
        value: string;
    }
    interface TreeEnvelopeReportLocationFieldEvent {
        field: '$.report.location';
        value: string;
    }
    interface TreeEnvelopeReportDescendantsFieldEvent {
        field: '$.report.descendants';
        value: number;
    }
    interface TreeEnvelopeReportEpochFieldEvent {
        field: '$.report.epoch';
        value: bigint;
    }
    interface TreeEnvelopeReportAckPolicyVersionFieldEvent {
        field: '$.reportAck.policy.version';
        value: number;
    }
    interface TreeEnvelopeReportAckPolicyWeightBpsFieldEvent {
        field: '$.reportAck.policy.weightBps';
        value: number;
    }
    interface TreeEnvelopeReportAckPolicyMigrateThresholdBpsFieldEvent {
        field: '$.reportAck.policy.migrateThresholdBps';
        value: number;
    }
    interface TreeEnvelopeReportAckPolicyReplicateThresholdBpsFieldEvent {
        field: '$.reportAck.policy.replicateThresholdBps';
        value: number;
    }
    interface TreeEnvelopeReportAckPolicyTerminateThresholdBpsFieldEvent {
        field: '$.reportAck.policy.terminateThresholdBps';
        value: number;
    }
    interface TreeEnvelopeReportAckPolicyMaxPricePerSecondFieldEvent {
        field: '$.reportAck.policy.maxPricePerSecond';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeEnvelopeReportAckPolicyMaxRelayFeeFieldEvent {
        field: '$.reportAck.policy.maxRelayFee';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeEnvelopeReportAckPolicyRelayAllowancePerDayFieldEvent {
        field: '$.reportAck.policy.relayAllowancePerDay';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeEnvelopeReportAckAncestorsAccountFieldEvent {
        field: '$.reportAck.ancestors[].account';
        value: bigint;
        index: number;
    }
    interface TreeEnvelopeReportAckAncestorsAddrsFieldEvent {
        field: '$.reportAck.ancestors[].addrs[]';
        index: number;
        value: string;
    }
    interface TreeEnvelopeReportAckPlaceEndpointFieldEvent {
        field: '$.reportAck.place.endpoint';
        value: string;
    }
    interface TreeEnvelopeReportAckPlaceLocationFieldEvent {
        field: '$.reportAck.place.location';
        value: string;
    }
    interface TreeEnvelopeReportAckPlaceInstanceIdFieldEvent {
        field: '$.reportAck.place.instanceId';
        value: bigint;
    }
    interface TreeEnvelopeReportAckSuccessorAccountFieldEvent {
        field: '$.reportAck.successor.account';
        value: bigint;
    }
    interface TreeEnvelopeReportAckSuccessorAddrsFieldEvent {
        field: '$.reportAck.successor.addrs[]';
        index: number;
        value: string;
    }
    interface TreeEnvelopeReportAckAppRateFieldEvent {
        field: '$.reportAck.appRate';
        value: number;
    }
    interface TreeEnvelopeFundingProofAccountFieldEvent {
        field: '$.funding.proof.account';
        value: bigint;
    }
    interface TreeEnvelopeFundingProofExpiresFieldEvent {
        field: '$.funding.proof.expires';
        value: bigint;
    }
    interface TreeEnvelopeFundingProofSignatureFieldEvent {
        field: '$.funding.proof.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeEnvelopeFundingAmountFieldEvent {
        field: '$.funding.amount';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeEnvelopeFundingReplyGrantedFieldEvent {
        field: '$.fundingReply.granted';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeEnvelopeFundingReplyNoteFieldEvent {
        field: '$.fundingReply.note';
        value: string;
    }
    interface TreeEnvelopeDetachProofAccountFieldEvent {
        field: '$.detach.proof.account';
        value: bigint;
    }
    interface TreeEnvelopeDetachProofExpiresFieldEvent {
        field: '$.detach.proof.expires';
        value: bigint;
    }
    interface TreeEnvelopeDetachProofSignatureFieldEvent {
        field: '$.detach.proof.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeEnvelopeDetachNewParentAccountFieldEvent {
        field: '$.detach.newParent.account';
        value: bigint;
    }
    interface TreeEnvelopeDetachNewParentAddrsFieldEvent {
        field: '$.detach.newParent.addrs[]';
        index: number;
        value: string;
    }
    interface TreeEnvelopeErrorCodeFieldEvent {
        field: '$.error.code';
        value: TreeErrorCode;
    }
    interface TreeEnvelopeErrorMessageFieldEvent {
        field: '$.error.message';
        value: string;
    }
    function encode(obj: Partial<TreeEnvelope>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeEnvelope>): TreeEnvelope;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeEnvelope>): Generator<TreeEnvelopeAttachProofAccountFieldEvent | TreeEnvelopeAttachProofExpiresFieldEvent | TreeEnvelopeAttachProofSignatureFieldEvent | TreeEnvelopeAttachAddrsFieldEvent | TreeEnvelopeAttachEndpointFieldEvent | TreeEnvelopeAttachLocationFieldEvent | TreeEnvelopeAttachEpochFieldEvent | TreeEnvelopeAttachedParentAccountFieldEvent | TreeEnvelopeAttachedParentAddrsFieldEvent | TreeEnvelopeAttachedOriginAccountFieldEvent | TreeEnvelopeAttachedOriginAddrsFieldEvent | TreeEnvelopeAttachedAncestorsAccountFieldEvent | TreeEnvelopeAttachedAncestorsAddrsFieldEvent | TreeEnvelopeAttachedPolicyVersionFieldEvent | TreeEnvelopeAttachedPolicyWeightBpsFieldEvent | TreeEnvelopeAttachedPolicyMigrateThresholdBpsFieldEvent | TreeEnvelopeAttachedPolicyReplicateThresholdBpsFieldEvent | TreeEnvelopeAttachedPolicyTerminateThresholdBpsFieldEvent | TreeEnvelopeAttachedPolicyMaxPricePerSecondFieldEvent | TreeEnvelopeAttachedPolicyMaxRelayFeeFieldEvent | TreeEnvelopeAttachedPolicyRelayAllowancePerDayFieldEvent | TreeEnvelopeAttachedProofAccountFieldEvent | TreeEnvelopeAttachedProofExpiresFieldEvent | TreeEnvelopeAttachedProofSignatureFieldEvent | TreeEnvelopeAttachedPlaceEndpointFieldEvent | TreeEnvelopeAttachedPlaceLocationFieldEvent | TreeEnvelopeAttachedPlaceInstanceIdFieldEvent | TreeEnvelopeAttachedSuccessorAccountFieldEvent | TreeEnvelopeAttachedSuccessorAddrsFieldEvent | TreeEnvelopeReportProofAccountFieldEvent | TreeEnvelopeReportProofExpiresFieldEvent | TreeEnvelopeReportProofSignatureFieldEvent | TreeEnvelopeReportSubnetsSubnetFieldEvent | TreeEnvelopeReportSubnetsRateFieldEvent | TreeEnvelopeReportSubnetsLatencyMsFieldEvent | TreeEnvelopeReportSubnetsRequestsFieldEvent | TreeEnvelopeReportEndpointFieldEvent | TreeEnvelopeReportLocationFieldEvent | TreeEnvelopeReportDescendantsFieldEvent | TreeEnvelopeReportEpochFieldEvent | TreeEnvelopeReportAckPolicyVersionFieldEvent | TreeEnvelopeReportAckPolicyWeightBpsFieldEvent | TreeEnvelopeReportAckPolicyMigrateThresholdBpsFieldEvent | TreeEnvelopeReportAckPolicyReplicateThresholdBpsFieldEvent | TreeEnvelopeReportAckPolicyTerminateThresholdBpsFieldEvent | TreeEnvelopeReportAckPolicyMaxPricePerSecondFieldEvent | TreeEnvelopeReportAckPolicyMaxRelayFeeFieldEvent | TreeEnvelopeReportAckPolicyRelayAllowancePerDayFieldEvent | TreeEnvelopeReportAckAncestorsAccountFieldEvent | TreeEnvelopeReportAckAncestorsAddrsFieldEvent | TreeEnvelopeReportAckPlaceEndpointFieldEvent | TreeEnvelopeReportAckPlaceLocationFieldEvent | TreeEnvelopeReportAckPlaceInstanceIdFieldEvent | TreeEnvelopeReportAckSuccessorAccountFieldEvent | TreeEnvelopeReportAckSuccessorAddrsFieldEvent | TreeEnvelopeReportAckAppRateFieldEvent | TreeEnvelopeFundingProofAccountFieldEvent | TreeEnvelopeFundingProofExpiresFieldEvent | TreeEnvelopeFundingProofSignatureFieldEvent | TreeEnvelopeFundingAmountFieldEvent | TreeEnvelopeFundingReplyGrantedFieldEvent | TreeEnvelopeFundingReplyNoteFieldEvent | TreeEnvelopeDetachProofAccountFieldEvent | TreeEnvelopeDetachProofExpiresFieldEvent | TreeEnvelopeDetachProofSignatureFieldEvent | TreeEnvelopeDetachNewParentAccountFieldEvent | TreeEnvelopeDetachNewParentAddrsFieldEvent | TreeEnvelopeErrorCodeFieldEvent | TreeEnvelopeErrorMessageFieldEvent>;
}
export interface TreeMemberProof {
    account: bigint;
    expires: bigint;
    signature: Uint8Array<ArrayBuffer>;
}
export declare namespace TreeMemberProof {
    const codec: () => Codec<TreeMemberProof>;
    interface TreeMemberProofAccountFieldEvent {
        field: '$.account';
        value: bigint;
    }
    interface TreeMemberProofExpiresFieldEvent {
        field: '$.expires';
        value: bigint;
    }
    interface TreeMemberProofSignatureFieldEvent {
        field: '$.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<TreeMemberProof>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeMemberProof>): TreeMemberProof;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeMemberProof>): Generator<TreeMemberProofAccountFieldEvent | TreeMemberProofExpiresFieldEvent | TreeMemberProofSignatureFieldEvent>;
}
export interface TreeNode {
    account: bigint;
    addrs: string[];
}
export declare namespace TreeNode {
    const codec: () => Codec<TreeNode>;
    interface TreeNodeAccountFieldEvent {
        field: '$.account';
        value: bigint;
    }
    interface TreeNodeAddrsFieldEvent {
        field: '$.addrs[]';
        index: number;
        value: string;
    }
    function encode(obj: Partial<TreeNode>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeNode>): TreeNode;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeNode>): Generator<TreeNodeAccountFieldEvent | TreeNodeAddrsFieldEvent>;
}
export interface TreePolicy {
    version: number;
    weightBps: number;
    migrateThresholdBps: number;
    replicateThresholdBps: number;
    terminateThresholdBps: number;
    maxPricePerSecond: Uint8Array<ArrayBuffer>;
    maxRelayFee: Uint8Array<ArrayBuffer>;
    relayAllowancePerDay: Uint8Array<ArrayBuffer>;
}
export declare namespace TreePolicy {
    const codec: () => Codec<TreePolicy>;
    interface TreePolicyVersionFieldEvent {
        field: '$.version';
        value: number;
    }
    interface TreePolicyWeightBpsFieldEvent {
        field: '$.weightBps';
        value: number;
    }
    interface TreePolicyMigrateThresholdBpsFieldEvent {
        field: '$.migrateThresholdBps';
        value: number;
    }
    interface TreePolicyReplicateThresholdBpsFieldEvent {
        field: '$.replicateThresholdBps';
        value: number;
    }
    interface TreePolicyTerminateThresholdBpsFieldEvent {
        field: '$.terminateThresholdBps';
        value: number;
    }
    interface TreePolicyMaxPricePerSecondFieldEvent {
        field: '$.maxPricePerSecond';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreePolicyMaxRelayFeeFieldEvent {
        field: '$.maxRelayFee';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreePolicyRelayAllowancePerDayFieldEvent {
        field: '$.relayAllowancePerDay';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<TreePolicy>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreePolicy>): TreePolicy;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreePolicy>): Generator<TreePolicyVersionFieldEvent | TreePolicyWeightBpsFieldEvent | TreePolicyMigrateThresholdBpsFieldEvent | TreePolicyReplicateThresholdBpsFieldEvent | TreePolicyTerminateThresholdBpsFieldEvent | TreePolicyMaxPricePerSecondFieldEvent | TreePolicyMaxRelayFeeFieldEvent | TreePolicyRelayAllowancePerDayFieldEvent>;
}
export interface TreeAttach {
    proof?: TreeMemberProof;
    addrs: string[];
    endpoint: string;
    location: string;
    epoch: bigint;
}
export declare namespace TreeAttach {
    const codec: () => Codec<TreeAttach>;
    interface TreeAttachProofAccountFieldEvent {
        field: '$.proof.account';
        value: bigint;
    }
    interface TreeAttachProofExpiresFieldEvent {
        field: '$.proof.expires';
        value: bigint;
    }
    interface TreeAttachProofSignatureFieldEvent {
        field: '$.proof.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeAttachAddrsFieldEvent {
        field: '$.addrs[]';
        index: number;
        value: string;
    }
    interface TreeAttachEndpointFieldEvent {
        field: '$.endpoint';
        value: string;
    }
    interface TreeAttachLocationFieldEvent {
        field: '$.location';
        value: string;
    }
    interface TreeAttachEpochFieldEvent {
        field: '$.epoch';
        value: bigint;
    }
    function encode(obj: Partial<TreeAttach>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeAttach>): TreeAttach;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeAttach>): Generator<TreeAttachProofAccountFieldEvent | TreeAttachProofExpiresFieldEvent | TreeAttachProofSignatureFieldEvent | TreeAttachAddrsFieldEvent | TreeAttachEndpointFieldEvent | TreeAttachLocationFieldEvent | TreeAttachEpochFieldEvent>;
}
export interface TreeAttached {
    parent?: TreeNode;
    origin?: TreeNode;
    ancestors: TreeNode[];
    policy?: TreePolicy;
    proof?: TreeMemberProof;
    place?: TreePlace;
    successor?: TreeNode;
}
export declare namespace TreeAttached {
    const codec: () => Codec<TreeAttached>;
    interface TreeAttachedParentAccountFieldEvent {
        field: '$.parent.account';
        value: bigint;
    }
    interface TreeAttachedParentAddrsFieldEvent {
        field: '$.parent.addrs[]';
        index: number;
        value: string;
    }
    interface TreeAttachedOriginAccountFieldEvent {
        field: '$.origin.account';
        value: bigint;
    }
    interface TreeAttachedOriginAddrsFieldEvent {
        field: '$.origin.addrs[]';
        index: number;
        value: string;
    }
    interface TreeAttachedAncestorsAccountFieldEvent {
        field: '$.ancestors[].account';
        value: bigint;
        index: number;
    }
    interface TreeAttachedAncestorsAddrsFieldEvent {
        field: '$.ancestors[].addrs[]';
        index: number;
        value: string;
    }
    interface TreeAttachedPolicyVersionFieldEvent {
        field: '$.policy.version';
        value: number;
    }
    interface TreeAttachedPolicyWeightBpsFieldEvent {
        field: '$.policy.weightBps';
        value: number;
    }
    interface TreeAttachedPolicyMigrateThresholdBpsFieldEvent {
        field: '$.policy.migrateThresholdBps';
        value: number;
    }
    interface TreeAttachedPolicyReplicateThresholdBpsFieldEvent {
        field: '$.policy.replicateThresholdBps';
        value: number;
    }
    interface TreeAttachedPolicyTerminateThresholdBpsFieldEvent {
        field: '$.policy.terminateThresholdBps';
        value: number;
    }
    interface TreeAttachedPolicyMaxPricePerSecondFieldEvent {
        field: '$.policy.maxPricePerSecond';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeAttachedPolicyMaxRelayFeeFieldEvent {
        field: '$.policy.maxRelayFee';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeAttachedPolicyRelayAllowancePerDayFieldEvent {
        field: '$.policy.relayAllowancePerDay';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeAttachedProofAccountFieldEvent {
        field: '$.proof.account';
        value: bigint;
    }
    interface TreeAttachedProofExpiresFieldEvent {
        field: '$.proof.expires';
        value: bigint;
    }
    interface TreeAttachedProofSignatureFieldEvent {
        field: '$.proof.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeAttachedPlaceEndpointFieldEvent {
        field: '$.place.endpoint';
        value: string;
    }
    interface TreeAttachedPlaceLocationFieldEvent {
        field: '$.place.location';
        value: string;
    }
    interface TreeAttachedPlaceInstanceIdFieldEvent {
        field: '$.place.instanceId';
        value: bigint;
    }
    interface TreeAttachedSuccessorAccountFieldEvent {
        field: '$.successor.account';
        value: bigint;
    }
    interface TreeAttachedSuccessorAddrsFieldEvent {
        field: '$.successor.addrs[]';
        index: number;
        value: string;
    }
    function encode(obj: Partial<TreeAttached>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeAttached>): TreeAttached;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeAttached>): Generator<TreeAttachedParentAccountFieldEvent | TreeAttachedParentAddrsFieldEvent | TreeAttachedOriginAccountFieldEvent | TreeAttachedOriginAddrsFieldEvent | TreeAttachedAncestorsAccountFieldEvent | TreeAttachedAncestorsAddrsFieldEvent | TreeAttachedPolicyVersionFieldEvent | TreeAttachedPolicyWeightBpsFieldEvent | TreeAttachedPolicyMigrateThresholdBpsFieldEvent | TreeAttachedPolicyReplicateThresholdBpsFieldEvent | TreeAttachedPolicyTerminateThresholdBpsFieldEvent | TreeAttachedPolicyMaxPricePerSecondFieldEvent | TreeAttachedPolicyMaxRelayFeeFieldEvent | TreeAttachedPolicyRelayAllowancePerDayFieldEvent | TreeAttachedProofAccountFieldEvent | TreeAttachedProofExpiresFieldEvent | TreeAttachedProofSignatureFieldEvent | TreeAttachedPlaceEndpointFieldEvent | TreeAttachedPlaceLocationFieldEvent | TreeAttachedPlaceInstanceIdFieldEvent | TreeAttachedSuccessorAccountFieldEvent | TreeAttachedSuccessorAddrsFieldEvent>;
}
export interface TreePlace {
    endpoint: string;
    location: string;
    instanceId: bigint;
}
export declare namespace TreePlace {
    const codec: () => Codec<TreePlace>;
    interface TreePlaceEndpointFieldEvent {
        field: '$.endpoint';
        value: string;
    }
    interface TreePlaceLocationFieldEvent {
        field: '$.location';
        value: string;
    }
    interface TreePlaceInstanceIdFieldEvent {
        field: '$.instanceId';
        value: bigint;
    }
    function encode(obj: Partial<TreePlace>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreePlace>): TreePlace;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreePlace>): Generator<TreePlaceEndpointFieldEvent | TreePlaceLocationFieldEvent | TreePlaceInstanceIdFieldEvent>;
}
export interface TreeSubnet {
    subnet: string;
    rate: number;
    latencyMs?: number;
    requests: bigint;
}
export declare namespace TreeSubnet {
    const codec: () => Codec<TreeSubnet>;
    interface TreeSubnetSubnetFieldEvent {
        field: '$.subnet';
        value: string;
    }
    interface TreeSubnetRateFieldEvent {
        field: '$.rate';
        value: number;
    }
    interface TreeSubnetLatencyMsFieldEvent {
        field: '$.latencyMs';
        value: number;
    }
    interface TreeSubnetRequestsFieldEvent {
        field: '$.requests';
        value: bigint;
    }
    function encode(obj: Partial<TreeSubnet>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeSubnet>): TreeSubnet;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeSubnet>): Generator<TreeSubnetSubnetFieldEvent | TreeSubnetRateFieldEvent | TreeSubnetLatencyMsFieldEvent | TreeSubnetRequestsFieldEvent>;
}
export interface TreeReport {
    proof?: TreeMemberProof;
    subnets: TreeSubnet[];
    endpoint: string;
    location: string;
    descendants: number;
    epoch: bigint;
}
export declare namespace TreeReport {
    const codec: () => Codec<TreeReport>;
    interface TreeReportProofAccountFieldEvent {
        field: '$.proof.account';
        value: bigint;
    }
    interface TreeReportProofExpiresFieldEvent {
        field: '$.proof.expires';
        value: bigint;
    }
    interface TreeReportProofSignatureFieldEvent {
        field: '$.proof.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeReportSubnetsSubnetFieldEvent {
        field: '$.subnets[].subnet';
        value: string;
        index: number;
    }
    interface TreeReportSubnetsRateFieldEvent {
        field: '$.subnets[].rate';
        value: number;
        index: number;
    }
    interface TreeReportSubnetsLatencyMsFieldEvent {
        field: '$.subnets[].latencyMs';
        value: number;
        index: number;
    }
    interface TreeReportSubnetsRequestsFieldEvent {
        field: '$.subnets[].requests';
        value: bigint;
        index: number;
    }
    interface TreeReportEndpointFieldEvent {
        field: '$.endpoint';
        value: string;
    }
    interface TreeReportLocationFieldEvent {
        field: '$.location';
        value: string;
    }
    interface TreeReportDescendantsFieldEvent {
        field: '$.descendants';
        value: number;
    }
    interface TreeReportEpochFieldEvent {
        field: '$.epoch';
        value: bigint;
    }
    function encode(obj: Partial<TreeReport>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeReport>): TreeReport;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeReport>): Generator<TreeReportProofAccountFieldEvent | TreeReportProofExpiresFieldEvent | TreeReportProofSignatureFieldEvent | TreeReportSubnetsSubnetFieldEvent | TreeReportSubnetsRateFieldEvent | TreeReportSubnetsLatencyMsFieldEvent | TreeReportSubnetsRequestsFieldEvent | TreeReportEndpointFieldEvent | TreeReportLocationFieldEvent | TreeReportDescendantsFieldEvent | TreeReportEpochFieldEvent>;
}
export interface TreeReportAck {
    policy?: TreePolicy;
    ancestors: TreeNode[];
    place?: TreePlace;
    successor?: TreeNode;
    appRate?: number;
}
export declare namespace TreeReportAck {
    const codec: () => Codec<TreeReportAck>;
    interface TreeReportAckPolicyVersionFieldEvent {
        field: '$.policy.version';
        value: number;
    }
    interface TreeReportAckPolicyWeightBpsFieldEvent {
        field: '$.policy.weightBps';
        value: number;
    }
    interface TreeReportAckPolicyMigrateThresholdBpsFieldEvent {
        field: '$.policy.migrateThresholdBps';
        value: number;
    }
    interface TreeReportAckPolicyReplicateThresholdBpsFieldEvent {
        field: '$.policy.replicateThresholdBps';
        value: number;
    }
    interface TreeReportAckPolicyTerminateThresholdBpsFieldEvent {
        field: '$.policy.terminateThresholdBps';
        value: number;
    }
    interface TreeReportAckPolicyMaxPricePerSecondFieldEvent {
        field: '$.policy.maxPricePerSecond';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeReportAckPolicyMaxRelayFeeFieldEvent {
        field: '$.policy.maxRelayFee';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeReportAckPolicyRelayAllowancePerDayFieldEvent {
        field: '$.policy.relayAllowancePerDay';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeReportAckAncestorsAccountFieldEvent {
        field: '$.ancestors[].account';
        value: bigint;
        index: number;
    }
    interface TreeReportAckAncestorsAddrsFieldEvent {
        field: '$.ancestors[].addrs[]';
        index: number;
        value: string;
    }
    interface TreeReportAckPlaceEndpointFieldEvent {
        field: '$.place.endpoint';
        value: string;
    }
    interface TreeReportAckPlaceLocationFieldEvent {
        field: '$.place.location';
        value: string;
    }
    interface TreeReportAckPlaceInstanceIdFieldEvent {
        field: '$.place.instanceId';
        value: bigint;
    }
    interface TreeReportAckSuccessorAccountFieldEvent {
        field: '$.successor.account';
        value: bigint;
    }
    interface TreeReportAckSuccessorAddrsFieldEvent {
        field: '$.successor.addrs[]';
        index: number;
        value: string;
    }
    interface TreeReportAckAppRateFieldEvent {
        field: '$.appRate';
        value: number;
    }
    function encode(obj: Partial<TreeReportAck>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeReportAck>): TreeReportAck;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeReportAck>): Generator<TreeReportAckPolicyVersionFieldEvent | TreeReportAckPolicyWeightBpsFieldEvent | TreeReportAckPolicyMigrateThresholdBpsFieldEvent | TreeReportAckPolicyReplicateThresholdBpsFieldEvent | TreeReportAckPolicyTerminateThresholdBpsFieldEvent | TreeReportAckPolicyMaxPricePerSecondFieldEvent | TreeReportAckPolicyMaxRelayFeeFieldEvent | TreeReportAckPolicyRelayAllowancePerDayFieldEvent | TreeReportAckAncestorsAccountFieldEvent | TreeReportAckAncestorsAddrsFieldEvent | TreeReportAckPlaceEndpointFieldEvent | TreeReportAckPlaceLocationFieldEvent | TreeReportAckPlaceInstanceIdFieldEvent | TreeReportAckSuccessorAccountFieldEvent | TreeReportAckSuccessorAddrsFieldEvent | TreeReportAckAppRateFieldEvent>;
}
export interface TreeFunding {
    proof?: TreeMemberProof;
    amount: Uint8Array<ArrayBuffer>;
}
export declare namespace TreeFunding {
    const codec: () => Codec<TreeFunding>;
    interface TreeFundingProofAccountFieldEvent {
        field: '$.proof.account';
        value: bigint;
    }
    interface TreeFundingProofExpiresFieldEvent {
        field: '$.proof.expires';
        value: bigint;
    }
    interface TreeFundingProofSignatureFieldEvent {
        field: '$.proof.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeFundingAmountFieldEvent {
        field: '$.amount';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<TreeFunding>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeFunding>): TreeFunding;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeFunding>): Generator<TreeFundingProofAccountFieldEvent | TreeFundingProofExpiresFieldEvent | TreeFundingProofSignatureFieldEvent | TreeFundingAmountFieldEvent>;
}
export interface TreeFundingReply {
    granted: Uint8Array<ArrayBuffer>;
    note: string;
}
export declare namespace TreeFundingReply {
    const codec: () => Codec<TreeFundingReply>;
    interface TreeFundingReplyGrantedFieldEvent {
        field: '$.granted';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeFundingReplyNoteFieldEvent {
        field: '$.note';
        value: string;
    }
    function encode(obj: Partial<TreeFundingReply>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeFundingReply>): TreeFundingReply;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeFundingReply>): Generator<TreeFundingReplyGrantedFieldEvent | TreeFundingReplyNoteFieldEvent>;
}
export interface TreeDetach {
    proof?: TreeMemberProof;
    newParent?: TreeNode;
}
export declare namespace TreeDetach {
    const codec: () => Codec<TreeDetach>;
    interface TreeDetachProofAccountFieldEvent {
        field: '$.proof.account';
        value: bigint;
    }
    interface TreeDetachProofExpiresFieldEvent {
        field: '$.proof.expires';
        value: bigint;
    }
    interface TreeDetachProofSignatureFieldEvent {
        field: '$.proof.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface TreeDetachNewParentAccountFieldEvent {
        field: '$.newParent.account';
        value: bigint;
    }
    interface TreeDetachNewParentAddrsFieldEvent {
        field: '$.newParent.addrs[]';
        index: number;
        value: string;
    }
    function encode(obj: Partial<TreeDetach>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeDetach>): TreeDetach;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeDetach>): Generator<TreeDetachProofAccountFieldEvent | TreeDetachProofExpiresFieldEvent | TreeDetachProofSignatureFieldEvent | TreeDetachNewParentAccountFieldEvent | TreeDetachNewParentAddrsFieldEvent>;
}
export interface TreeDetached {
}
export declare namespace TreeDetached {
    const codec: () => Codec<TreeDetached>;
    function encode(obj: Partial<TreeDetached>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeDetached>): TreeDetached;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeDetached>): Generator<{}>;
}
export declare enum TreeErrorCode {
    TREE_ERROR_UNSPECIFIED = "TREE_ERROR_UNSPECIFIED",
    TREE_BAD_FRAME = "TREE_BAD_FRAME",
    TREE_BAD_PROOF = "TREE_BAD_PROOF",
    TREE_PROOF_EXPIRED = "TREE_PROOF_EXPIRED",
    TREE_NOT_DESCENDANT = "TREE_NOT_DESCENDANT",
    TREE_NOT_ATTACHED = "TREE_NOT_ATTACHED",
    TREE_NOT_CHILD = "TREE_NOT_CHILD",
    TREE_LEAVING = "TREE_LEAVING",
    TREE_INTERNAL = "TREE_INTERNAL",
    TREE_STALE_EPOCH = "TREE_STALE_EPOCH"
}
export declare namespace TreeErrorCode {
    const codec: () => Codec<TreeErrorCode>;
}
export interface TreeError {
    code: TreeErrorCode;
    message: string;
}
export declare namespace TreeError {
    const codec: () => Codec<TreeError>;
    interface TreeErrorCodeFieldEvent {
        field: '$.code';
        value: TreeErrorCode;
    }
    interface TreeErrorMessageFieldEvent {
        field: '$.message';
        value: string;
    }
    function encode(obj: Partial<TreeError>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeError>): TreeError;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TreeError>): Generator<TreeErrorCodeFieldEvent | TreeErrorMessageFieldEvent>;
}
