import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';
export interface Envelope {
    requestId: Uint8Array<ArrayBuffer>;
    capacityQuery?: CapacityQuery;
    capacityAnswer?: CapacityAnswer;
    rfq?: Rfq;
    quote?: Quote;
    counter?: Counter;
    accept?: Accept;
    reject?: Reject;
    opened?: Opened;
    deploy?: Deploy;
    running?: Running;
    failed?: Failed;
    terminate?: Terminate;
    redeploy?: Redeploy;
}
export declare namespace Envelope {
    const codec: () => Codec<Envelope>;
    interface EnvelopeRequestIdFieldEvent {
        field: '$.requestId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeCapacityQueryRttTargetsSubnetFieldEvent {
        field: '$.capacityQuery.rttTargets[].subnet';
        value: string;
        index: number;
    }
    interface EnvelopeCapacityQueryRttTargetsTargetFieldEvent {
        field: '$.capacityQuery.rttTargets[].target';
        value: string;
        index: number;
    }
    interface EnvelopeCapacityAnswerCpuMillisFreeFieldEvent {
        field: '$.capacityAnswer.cpuMillisFree';
        value: number;
    }
    interface EnvelopeCapacityAnswerMemoryMibFreeFieldEvent {
        field: '$.capacityAnswer.memoryMibFree';
        value: number;
    }
    interface EnvelopeCapacityAnswerCpuPricePerSecondFieldEvent {
        field: '$.capacityAnswer.cpuPricePerSecond';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeCapacityAnswerMemoryPricePerSecondFieldEvent {
        field: '$.capacityAnswer.memoryPricePerSecond';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeCapacityAnswerRegionFieldEvent {
        field: '$.capacityAnswer.region';
        value: string;
    }
    interface EnvelopeCapacityAnswerBindingOperatorFieldEvent {
        field: '$.capacityAnswer.binding.operator';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeCapacityAnswerBindingChainIdFieldEvent {
        field: '$.capacityAnswer.binding.chainId';
        value: bigint;
    }
    interface EnvelopeCapacityAnswerBindingRegistryFieldEvent {
        field: '$.capacityAnswer.binding.registry';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeCapacityAnswerBindingSignatureFieldEvent {
        field: '$.capacityAnswer.binding.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeCapacityAnswerRttStatusFieldEvent {
        field: '$.capacityAnswer.rtt.status';
        value: RttStatus;
    }
    interface EnvelopeCapacityAnswerRttAtFieldEvent {
        field: '$.capacityAnswer.rtt.at';
        value: bigint;
    }
    interface EnvelopeCapacityAnswerRttPeerFieldEvent {
        field: '$.capacityAnswer.rtt.peer';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeCapacityAnswerRttFiguresSubnetFieldEvent {
        field: '$.capacityAnswer.rtt.figures[].subnet';
        value: string;
        index: number;
    }
    interface EnvelopeCapacityAnswerRttFiguresTargetFieldEvent {
        field: '$.capacityAnswer.rtt.figures[].target';
        value: string;
        index: number;
    }
    interface EnvelopeCapacityAnswerRttFiguresRttUsFieldEvent {
        field: '$.capacityAnswer.rtt.figures[].rttUs';
        value: number;
        index: number;
    }
    interface EnvelopeCapacityAnswerRttYardFieldEvent {
        field: '$.capacityAnswer.rtt.yard';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeCapacityAnswerRttSignatureFieldEvent {
        field: '$.capacityAnswer.rtt.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeRfqCpuMillisFieldEvent {
        field: '$.rfq.cpuMillis';
        value: number;
    }
    interface EnvelopeRfqMemoryMibFieldEvent {
        field: '$.rfq.memoryMib';
        value: number;
    }
    interface EnvelopeRfqSlotSecondsFieldEvent {
        field: '$.rfq.slotSeconds';
        value: number;
    }
    interface EnvelopeRfqEarliestStartFieldEvent {
        field: '$.rfq.earliestStart';
        value: bigint;
    }
    interface EnvelopeRfqMaxPricePerSecondFieldEvent {
        field: '$.rfq.maxPricePerSecond';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeRfqImageRefFieldEvent {
        field: '$.rfq.imageRef';
        value: string;
    }
    interface EnvelopeRfqImageDigestFieldEvent {
        field: '$.rfq.imageDigest';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeRfqTenantAccountFieldEvent {
        field: '$.rfq.tenantAccount';
        value: bigint;
    }
    interface EnvelopeRfqRenewsLeaseIdFieldEvent {
        field: '$.rfq.renewsLeaseId';
        value: bigint;
    }
    interface EnvelopeRfqProofSignerFieldEvent {
        field: '$.rfq.proof.signer';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeRfqProofChainIdFieldEvent {
        field: '$.rfq.proof.chainId';
        value: bigint;
    }
    interface EnvelopeRfqProofMarketFieldEvent {
        field: '$.rfq.proof.market';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeRfqProofPeerIdFieldEvent {
        field: '$.rfq.proof.peerId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeRfqProofExpiryFieldEvent {
        field: '$.rfq.proof.expiry';
        value: bigint;
    }
    interface EnvelopeRfqProofSignatureFieldEvent {
        field: '$.rfq.proof.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeQuoteOfferProviderFieldEvent {
        field: '$.quote.offer.provider';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeQuoteOfferAccountFieldEvent {
        field: '$.quote.offer.account';
        value: bigint;
    }
    interface EnvelopeQuoteOfferTokenFieldEvent {
        field: '$.quote.offer.token';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeQuoteOfferPricePerSecondFieldEvent {
        field: '$.quote.offer.pricePerSecond';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeQuoteOfferCpuMillisFieldEvent {
        field: '$.quote.offer.cpuMillis';
        value: number;
    }
    interface EnvelopeQuoteOfferMemoryMibFieldEvent {
        field: '$.quote.offer.memoryMib';
        value: number;
    }
    interface EnvelopeQuoteOfferStartFieldEvent {
        field: '$.quote.offer.start';
        value: bigint;
    }
    interface EnvelopeQuoteOfferEndFieldEvent {
        field: '$.quote.offer.end';
        value: bigint;
    }
    interface EnvelopeQuoteOfferSpecHashFieldEvent {
        field: '$.quote.offer.specHash';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeQuoteOfferNonceFieldEvent {
        field: '$.quote.offer.nonce';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeQuoteOfferDeadlineFieldEvent {
        field: '$.quote.offer.deadline';
        value: bigint;
    }
    interface EnvelopeQuoteProviderSignatureFieldEvent {
        field: '$.quote.providerSignature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeQuoteRoundFieldEvent {
        field: '$.quote.round';
        value: number;
    }
    interface EnvelopeCounterPricePerSecondFieldEvent {
        field: '$.counter.pricePerSecond';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeAcceptTenantSignatureFieldEvent {
        field: '$.accept.tenantSignature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeRejectCodeFieldEvent {
        field: '$.reject.code';
        value: RejectCode;
    }
    interface EnvelopeRejectMessageFieldEvent {
        field: '$.reject.message';
        value: string;
    }
    interface EnvelopeOpenedLeaseIdFieldEvent {
        field: '$.opened.leaseId';
        value: bigint;
    }
    interface EnvelopeOpenedTxHashFieldEvent {
        field: '$.opened.txHash';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeDeployLeaseIdFieldEvent {
        field: '$.deploy.leaseId';
        value: bigint;
    }
    interface EnvelopeDeployImageRefFieldEvent {
        field: '$.deploy.imageRef';
        value: string;
    }
    interface EnvelopeDeployImageDigestFieldEvent {
        field: '$.deploy.imageDigest';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeDeployCommandFieldEvent {
        field: '$.deploy.command[]';
        index: number;
        value: string;
    }
    interface EnvelopeDeployEnvFieldEvent {
        field: '$.deploy.env[]';
        index: number;
        value: string;
    }
    interface EnvelopeDeployPortsFieldEvent {
        field: '$.deploy.ports[]';
        index: number;
        value: number;
    }
    interface EnvelopeDeployServiceFieldEvent {
        field: '$.deploy.service';
        value: string;
    }
    interface EnvelopeDeployHttpPortsFieldEvent {
        field: '$.deploy.httpPorts[]';
        index: number;
        value: number;
    }
    interface EnvelopeDeployAllowFieldEvent {
        field: '$.deploy.allow[]';
        index: number;
        value: string;
    }
    interface EnvelopeDeployUdpPortsFieldEvent {
        field: '$.deploy.udpPorts[]';
        index: number;
        value: number;
    }
    interface EnvelopeDeployAgentImageRefFieldEvent {
        field: '$.deploy.agent.imageRef';
        value: string;
    }
    interface EnvelopeDeployAgentImageDigestFieldEvent {
        field: '$.deploy.agent.imageDigest';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeDeployAgentCommandFieldEvent {
        field: '$.deploy.agent.command[]';
        index: number;
        value: string;
    }
    interface EnvelopeDeployAgentCpuMillisFieldEvent {
        field: '$.deploy.agent.cpuMillis';
        value: number;
    }
    interface EnvelopeDeployAgentMemoryMibFieldEvent {
        field: '$.deploy.agent.memoryMib';
        value: number;
    }
    interface EnvelopeDeployAgentSecretFieldEvent {
        field: '$.deploy.agent.secret';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeDeployAgentOnceFieldEvent {
        field: '$.deploy.agent.once';
        value: boolean;
    }
    interface EnvelopeRunningLeaseIdFieldEvent {
        field: '$.running.leaseId';
        value: bigint;
    }
    interface EnvelopeRunningEndpointFieldEvent {
        field: '$.running.endpoint';
        value: string;
    }
    interface EnvelopeFailedLeaseIdFieldEvent {
        field: '$.failed.leaseId';
        value: bigint;
    }
    interface EnvelopeFailedMessageFieldEvent {
        field: '$.failed.message';
        value: string;
    }
    interface EnvelopeTerminateLeaseIdFieldEvent {
        field: '$.terminate.leaseId';
        value: bigint;
    }
    interface EnvelopeRedeployLeaseIdFieldEvent {
        field: '$.redeploy.leaseId';
        value: bigint;
    }
    interface EnvelopeRedeployExpiresFieldEvent {
        field: '$.redeploy.expires';
        value: bigint;
    }
    interface EnvelopeRedeploySignatureFieldEvent {
        field: '$.redeploy.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeRedeployDeployLeaseIdFieldEvent {
        field: '$.redeploy.deploy.leaseId';
        value: bigint;
    }
    interface EnvelopeRedeployDeployImageRefFieldEvent {
        field: '$.redeploy.deploy.imageRef';
        value: string;
    }
    interface EnvelopeRedeployDeployImageDigestFieldEvent {
        field: '$.redeploy.deploy.imageDigest';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeRedeployDeployCommandFieldEvent {
        field: '$.redeploy.deploy.command[]';
        index: number;
        value: string;
    }
    interface EnvelopeRedeployDeployEnvFieldEvent {
        field: '$.redeploy.deploy.env[]';
        index: number;
        value: string;
    }
    interface EnvelopeRedeployDeployPortsFieldEvent {
        field: '$.redeploy.deploy.ports[]';
        index: number;
        value: number;
    }
    interface EnvelopeRedeployDeployServiceFieldEvent {
        field: '$.redeploy.deploy.service';
        value: string;
    }
    interface EnvelopeRedeployDeployHttpPortsFieldEvent {
        field: '$.redeploy.deploy.httpPorts[]';
        index: number;
        value: number;
    }
    interface EnvelopeRedeployDeployAllowFieldEvent {
        field: '$.redeploy.deploy.allow[]';
        index: number;
        value: string;
    }
    interface EnvelopeRedeployDeployUdpPortsFieldEvent {
        field: '$.redeploy.deploy.udpPorts[]';
        index: number;
        value: number;
    }
    interface EnvelopeRedeployDeployAgentImageRefFieldEvent {
        field: '$.redeploy.deploy.agent.imageRef';
        value: string;
    }
    interface EnvelopeRedeployDeployAgentImageDigestFieldEvent {
        field: '$.redeploy.deploy.agent.imageDigest';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeRedeployDeployAgentCommandFieldEvent {
        field: '$.redeploy.deploy.agent.command[]';
        index: number;
        value: string;
    }
    interface EnvelopeRedeployDeployAgentCpuMillisFieldEvent {
        field: '$.redeploy.deploy.agent.cpuMillis';
        value: number;
    }
    interface EnvelopeRedeployDeployAgentMemoryMibFieldEvent {
        field: '$.redeploy.deploy.agent.memoryMib';
        value: number;
    }
    interface EnvelopeRedeployDeployAgentSecretFieldEvent {
        field: '$.redeploy.deploy.agent.secret';
        value: Uint8Array<ArrayBuffer>;
    }
    interface EnvelopeRedeployDeployAgentOnceFieldEvent {
        field: '$.redeploy.deploy.agent.once';
        value: boolean;
    }
    function encode(obj: Partial<Envelope>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelope>): Envelope;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Envelope>): Generator<EnvelopeRequestIdFieldEvent | EnvelopeCapacityQueryRttTargetsSubnetFieldEvent | EnvelopeCapacityQueryRttTargetsTargetFieldEvent | EnvelopeCapacityAnswerCpuMillisFreeFieldEvent | EnvelopeCapacityAnswerMemoryMibFreeFieldEvent | EnvelopeCapacityAnswerCpuPricePerSecondFieldEvent | EnvelopeCapacityAnswerMemoryPricePerSecondFieldEvent | EnvelopeCapacityAnswerRegionFieldEvent | EnvelopeCapacityAnswerBindingOperatorFieldEvent | EnvelopeCapacityAnswerBindingChainIdFieldEvent | EnvelopeCapacityAnswerBindingRegistryFieldEvent | EnvelopeCapacityAnswerBindingSignatureFieldEvent | EnvelopeCapacityAnswerRttStatusFieldEvent | EnvelopeCapacityAnswerRttAtFieldEvent | EnvelopeCapacityAnswerRttPeerFieldEvent | EnvelopeCapacityAnswerRttFiguresSubnetFieldEvent | EnvelopeCapacityAnswerRttFiguresTargetFieldEvent | EnvelopeCapacityAnswerRttFiguresRttUsFieldEvent | EnvelopeCapacityAnswerRttYardFieldEvent | EnvelopeCapacityAnswerRttSignatureFieldEvent | EnvelopeRfqCpuMillisFieldEvent | EnvelopeRfqMemoryMibFieldEvent | EnvelopeRfqSlotSecondsFieldEvent | EnvelopeRfqEarliestStartFieldEvent | EnvelopeRfqMaxPricePerSecondFieldEvent | EnvelopeRfqImageRefFieldEvent | EnvelopeRfqImageDigestFieldEvent | EnvelopeRfqTenantAccountFieldEvent | EnvelopeRfqRenewsLeaseIdFieldEvent | EnvelopeRfqProofSignerFieldEvent | EnvelopeRfqProofChainIdFieldEvent | EnvelopeRfqProofMarketFieldEvent | EnvelopeRfqProofPeerIdFieldEvent | EnvelopeRfqProofExpiryFieldEvent | EnvelopeRfqProofSignatureFieldEvent | EnvelopeQuoteOfferProviderFieldEvent | EnvelopeQuoteOfferAccountFieldEvent | EnvelopeQuoteOfferTokenFieldEvent | EnvelopeQuoteOfferPricePerSecondFieldEvent | EnvelopeQuoteOfferCpuMillisFieldEvent | EnvelopeQuoteOfferMemoryMibFieldEvent | EnvelopeQuoteOfferStartFieldEvent | EnvelopeQuoteOfferEndFieldEvent | EnvelopeQuoteOfferSpecHashFieldEvent | EnvelopeQuoteOfferNonceFieldEvent | EnvelopeQuoteOfferDeadlineFieldEvent | EnvelopeQuoteProviderSignatureFieldEvent | EnvelopeQuoteRoundFieldEvent | EnvelopeCounterPricePerSecondFieldEvent | EnvelopeAcceptTenantSignatureFieldEvent | EnvelopeRejectCodeFieldEvent | EnvelopeRejectMessageFieldEvent | EnvelopeOpenedLeaseIdFieldEvent | EnvelopeOpenedTxHashFieldEvent | EnvelopeDeployLeaseIdFieldEvent | EnvelopeDeployImageRefFieldEvent | EnvelopeDeployImageDigestFieldEvent | EnvelopeDeployCommandFieldEvent | EnvelopeDeployEnvFieldEvent | EnvelopeDeployPortsFieldEvent | EnvelopeDeployServiceFieldEvent | EnvelopeDeployHttpPortsFieldEvent | EnvelopeDeployAllowFieldEvent | EnvelopeDeployUdpPortsFieldEvent | EnvelopeDeployAgentImageRefFieldEvent | EnvelopeDeployAgentImageDigestFieldEvent | EnvelopeDeployAgentCommandFieldEvent | EnvelopeDeployAgentCpuMillisFieldEvent | EnvelopeDeployAgentMemoryMibFieldEvent | EnvelopeDeployAgentSecretFieldEvent | EnvelopeDeployAgentOnceFieldEvent | EnvelopeRunningLeaseIdFieldEvent | EnvelopeRunningEndpointFieldEvent | EnvelopeFailedLeaseIdFieldEvent | EnvelopeFailedMessageFieldEvent | EnvelopeTerminateLeaseIdFieldEvent | EnvelopeRedeployLeaseIdFieldEvent | EnvelopeRedeployExpiresFieldEvent | EnvelopeRedeploySignatureFieldEvent | EnvelopeRedeployDeployLeaseIdFieldEvent | EnvelopeRedeployDeployImageRefFieldEvent | EnvelopeRedeployDeployImageDigestFieldEvent | EnvelopeRedeployDeployCommandFieldEvent | EnvelopeRedeployDeployEnvFieldEvent | EnvelopeRedeployDeployPortsFieldEvent | EnvelopeRedeployDeployServiceFieldEvent | EnvelopeRedeployDeployHttpPortsFieldEvent | EnvelopeRedeployDeployAllowFieldEvent | EnvelopeRedeployDeployUdpPortsFieldEvent | EnvelopeRedeployDeployAgentImageRefFieldEvent | EnvelopeRedeployDeployAgentImageDigestFieldEvent | EnvelopeRedeployDeployAgentCommandFieldEvent | EnvelopeRedeployDeployAgentCpuMillisFieldEvent | EnvelopeRedeployDeployAgentMemoryMibFieldEvent | EnvelopeRedeployDeployAgentSecretFieldEvent | EnvelopeRedeployDeployAgentOnceFieldEvent>;
}
export interface CapacityQuery {
    rttTargets: RttTarget[];
}
export declare namespace CapacityQuery {
    const codec: () => Codec<CapacityQuery>;
    interface CapacityQueryRttTargetsSubnetFieldEvent {
        field: '$.rttTargets[].subnet';
        value: string;
        index: number;
    }
    interface CapacityQueryRttTargetsTargetFieldEvent {
        field: '$.rttTargets[].target';
        value: string;
        index: number;
    }
    function encode(obj: Partial<CapacityQuery>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapacityQuery>): CapacityQuery;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapacityQuery>): Generator<CapacityQueryRttTargetsSubnetFieldEvent | CapacityQueryRttTargetsTargetFieldEvent>;
}
export interface RttTarget {
    subnet: string;
    target: string;
}
export declare namespace RttTarget {
    const codec: () => Codec<RttTarget>;
    interface RttTargetSubnetFieldEvent {
        field: '$.subnet';
        value: string;
    }
    interface RttTargetTargetFieldEvent {
        field: '$.target';
        value: string;
    }
    function encode(obj: Partial<RttTarget>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RttTarget>): RttTarget;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RttTarget>): Generator<RttTargetSubnetFieldEvent | RttTargetTargetFieldEvent>;
}
export interface CapacityAnswer {
    cpuMillisFree: number;
    memoryMibFree: number;
    cpuPricePerSecond: Uint8Array<ArrayBuffer>;
    memoryPricePerSecond: Uint8Array<ArrayBuffer>;
    region: string;
    binding?: PeerBinding;
    rtt?: RttReport;
}
export declare namespace CapacityAnswer {
    const codec: () => Codec<CapacityAnswer>;
    interface CapacityAnswerCpuMillisFreeFieldEvent {
        field: '$.cpuMillisFree';
        value: number;
    }
    interface CapacityAnswerMemoryMibFreeFieldEvent {
        field: '$.memoryMibFree';
        value: number;
    }
    interface CapacityAnswerCpuPricePerSecondFieldEvent {
        field: '$.cpuPricePerSecond';
        value: Uint8Array<ArrayBuffer>;
    }
    interface CapacityAnswerMemoryPricePerSecondFieldEvent {
        field: '$.memoryPricePerSecond';
        value: Uint8Array<ArrayBuffer>;
    }
    interface CapacityAnswerRegionFieldEvent {
        field: '$.region';
        value: string;
    }
    interface CapacityAnswerBindingOperatorFieldEvent {
        field: '$.binding.operator';
        value: Uint8Array<ArrayBuffer>;
    }
    interface CapacityAnswerBindingChainIdFieldEvent {
        field: '$.binding.chainId';
        value: bigint;
    }
    interface CapacityAnswerBindingRegistryFieldEvent {
        field: '$.binding.registry';
        value: Uint8Array<ArrayBuffer>;
    }
    interface CapacityAnswerBindingSignatureFieldEvent {
        field: '$.binding.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface CapacityAnswerRttStatusFieldEvent {
        field: '$.rtt.status';
        value: RttStatus;
    }
    interface CapacityAnswerRttAtFieldEvent {
        field: '$.rtt.at';
        value: bigint;
    }
    interface CapacityAnswerRttPeerFieldEvent {
        field: '$.rtt.peer';
        value: Uint8Array<ArrayBuffer>;
    }
    interface CapacityAnswerRttFiguresSubnetFieldEvent {
        field: '$.rtt.figures[].subnet';
        value: string;
        index: number;
    }
    interface CapacityAnswerRttFiguresTargetFieldEvent {
        field: '$.rtt.figures[].target';
        value: string;
        index: number;
    }
    interface CapacityAnswerRttFiguresRttUsFieldEvent {
        field: '$.rtt.figures[].rttUs';
        value: number;
        index: number;
    }
    interface CapacityAnswerRttYardFieldEvent {
        field: '$.rtt.yard';
        value: Uint8Array<ArrayBuffer>;
    }
    interface CapacityAnswerRttSignatureFieldEvent {
        field: '$.rtt.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<CapacityAnswer>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapacityAnswer>): CapacityAnswer;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<CapacityAnswer>): Generator<CapacityAnswerCpuMillisFreeFieldEvent | CapacityAnswerMemoryMibFreeFieldEvent | CapacityAnswerCpuPricePerSecondFieldEvent | CapacityAnswerMemoryPricePerSecondFieldEvent | CapacityAnswerRegionFieldEvent | CapacityAnswerBindingOperatorFieldEvent | CapacityAnswerBindingChainIdFieldEvent | CapacityAnswerBindingRegistryFieldEvent | CapacityAnswerBindingSignatureFieldEvent | CapacityAnswerRttStatusFieldEvent | CapacityAnswerRttAtFieldEvent | CapacityAnswerRttPeerFieldEvent | CapacityAnswerRttFiguresSubnetFieldEvent | CapacityAnswerRttFiguresTargetFieldEvent | CapacityAnswerRttFiguresRttUsFieldEvent | CapacityAnswerRttYardFieldEvent | CapacityAnswerRttSignatureFieldEvent>;
}
export declare enum RttStatus {
    RTT_UNSPECIFIED = "RTT_UNSPECIFIED",
    RTT_MEASURED = "RTT_MEASURED",
    RTT_OVER_BUDGET = "RTT_OVER_BUDGET",
    RTT_DISABLED = "RTT_DISABLED",
    RTT_FAILED = "RTT_FAILED"
}
export declare namespace RttStatus {
    const codec: () => Codec<RttStatus>;
}
export interface RttFigure {
    subnet: string;
    target: string;
    rttUs?: number;
}
export declare namespace RttFigure {
    const codec: () => Codec<RttFigure>;
    interface RttFigureSubnetFieldEvent {
        field: '$.subnet';
        value: string;
    }
    interface RttFigureTargetFieldEvent {
        field: '$.target';
        value: string;
    }
    interface RttFigureRttUsFieldEvent {
        field: '$.rttUs';
        value: number;
    }
    function encode(obj: Partial<RttFigure>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RttFigure>): RttFigure;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RttFigure>): Generator<RttFigureSubnetFieldEvent | RttFigureTargetFieldEvent | RttFigureRttUsFieldEvent>;
}
export interface RttReport {
    status: RttStatus;
    at: bigint;
    peer: Uint8Array<ArrayBuffer>;
    figures: RttFigure[];
    yard: Uint8Array<ArrayBuffer>;
    signature: Uint8Array<ArrayBuffer>;
}
export declare namespace RttReport {
    const codec: () => Codec<RttReport>;
    interface RttReportStatusFieldEvent {
        field: '$.status';
        value: RttStatus;
    }
    interface RttReportAtFieldEvent {
        field: '$.at';
        value: bigint;
    }
    interface RttReportPeerFieldEvent {
        field: '$.peer';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RttReportFiguresSubnetFieldEvent {
        field: '$.figures[].subnet';
        value: string;
        index: number;
    }
    interface RttReportFiguresTargetFieldEvent {
        field: '$.figures[].target';
        value: string;
        index: number;
    }
    interface RttReportFiguresRttUsFieldEvent {
        field: '$.figures[].rttUs';
        value: number;
        index: number;
    }
    interface RttReportYardFieldEvent {
        field: '$.yard';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RttReportSignatureFieldEvent {
        field: '$.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<RttReport>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RttReport>): RttReport;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RttReport>): Generator<RttReportStatusFieldEvent | RttReportAtFieldEvent | RttReportPeerFieldEvent | RttReportFiguresSubnetFieldEvent | RttReportFiguresTargetFieldEvent | RttReportFiguresRttUsFieldEvent | RttReportYardFieldEvent | RttReportSignatureFieldEvent>;
}
export interface PeerBinding {
    operator: Uint8Array<ArrayBuffer>;
    chainId: bigint;
    registry: Uint8Array<ArrayBuffer>;
    signature: Uint8Array<ArrayBuffer>;
}
export declare namespace PeerBinding {
    const codec: () => Codec<PeerBinding>;
    interface PeerBindingOperatorFieldEvent {
        field: '$.operator';
        value: Uint8Array<ArrayBuffer>;
    }
    interface PeerBindingChainIdFieldEvent {
        field: '$.chainId';
        value: bigint;
    }
    interface PeerBindingRegistryFieldEvent {
        field: '$.registry';
        value: Uint8Array<ArrayBuffer>;
    }
    interface PeerBindingSignatureFieldEvent {
        field: '$.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<PeerBinding>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PeerBinding>): PeerBinding;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<PeerBinding>): Generator<PeerBindingOperatorFieldEvent | PeerBindingChainIdFieldEvent | PeerBindingRegistryFieldEvent | PeerBindingSignatureFieldEvent>;
}
export interface Rfq {
    cpuMillis: number;
    memoryMib: number;
    slotSeconds: number;
    earliestStart: bigint;
    maxPricePerSecond: Uint8Array<ArrayBuffer>;
    imageRef: string;
    imageDigest: Uint8Array<ArrayBuffer>;
    tenantAccount: bigint;
    renewsLeaseId: bigint;
    proof?: RfqProof;
}
export declare namespace Rfq {
    const codec: () => Codec<Rfq>;
    interface RfqCpuMillisFieldEvent {
        field: '$.cpuMillis';
        value: number;
    }
    interface RfqMemoryMibFieldEvent {
        field: '$.memoryMib';
        value: number;
    }
    interface RfqSlotSecondsFieldEvent {
        field: '$.slotSeconds';
        value: number;
    }
    interface RfqEarliestStartFieldEvent {
        field: '$.earliestStart';
        value: bigint;
    }
    interface RfqMaxPricePerSecondFieldEvent {
        field: '$.maxPricePerSecond';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RfqImageRefFieldEvent {
        field: '$.imageRef';
        value: string;
    }
    interface RfqImageDigestFieldEvent {
        field: '$.imageDigest';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RfqTenantAccountFieldEvent {
        field: '$.tenantAccount';
        value: bigint;
    }
    interface RfqRenewsLeaseIdFieldEvent {
        field: '$.renewsLeaseId';
        value: bigint;
    }
    interface RfqProofSignerFieldEvent {
        field: '$.proof.signer';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RfqProofChainIdFieldEvent {
        field: '$.proof.chainId';
        value: bigint;
    }
    interface RfqProofMarketFieldEvent {
        field: '$.proof.market';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RfqProofPeerIdFieldEvent {
        field: '$.proof.peerId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RfqProofExpiryFieldEvent {
        field: '$.proof.expiry';
        value: bigint;
    }
    interface RfqProofSignatureFieldEvent {
        field: '$.proof.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<Rfq>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Rfq>): Rfq;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Rfq>): Generator<RfqCpuMillisFieldEvent | RfqMemoryMibFieldEvent | RfqSlotSecondsFieldEvent | RfqEarliestStartFieldEvent | RfqMaxPricePerSecondFieldEvent | RfqImageRefFieldEvent | RfqImageDigestFieldEvent | RfqTenantAccountFieldEvent | RfqRenewsLeaseIdFieldEvent | RfqProofSignerFieldEvent | RfqProofChainIdFieldEvent | RfqProofMarketFieldEvent | RfqProofPeerIdFieldEvent | RfqProofExpiryFieldEvent | RfqProofSignatureFieldEvent>;
}
export interface RfqProof {
    signer: Uint8Array<ArrayBuffer>;
    chainId: bigint;
    market: Uint8Array<ArrayBuffer>;
    peerId: Uint8Array<ArrayBuffer>;
    expiry: bigint;
    signature: Uint8Array<ArrayBuffer>;
}
export declare namespace RfqProof {
    const codec: () => Codec<RfqProof>;
    interface RfqProofSignerFieldEvent {
        field: '$.signer';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RfqProofChainIdFieldEvent {
        field: '$.chainId';
        value: bigint;
    }
    interface RfqProofMarketFieldEvent {
        field: '$.market';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RfqProofPeerIdFieldEvent {
        field: '$.peerId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RfqProofExpiryFieldEvent {
        field: '$.expiry';
        value: bigint;
    }
    interface RfqProofSignatureFieldEvent {
        field: '$.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<RfqProof>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RfqProof>): RfqProof;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RfqProof>): Generator<RfqProofSignerFieldEvent | RfqProofChainIdFieldEvent | RfqProofMarketFieldEvent | RfqProofPeerIdFieldEvent | RfqProofExpiryFieldEvent | RfqProofSignatureFieldEvent>;
}
export interface Quote {
    offer?: Offer;
    providerSignature: Uint8Array<ArrayBuffer>;
    round: number;
}
export declare namespace Quote {
    const codec: () => Codec<Quote>;
    interface QuoteOfferProviderFieldEvent {
        field: '$.offer.provider';
        value: Uint8Array<ArrayBuffer>;
    }
    interface QuoteOfferAccountFieldEvent {
        field: '$.offer.account';
        value: bigint;
    }
    interface QuoteOfferTokenFieldEvent {
        field: '$.offer.token';
        value: Uint8Array<ArrayBuffer>;
    }
    interface QuoteOfferPricePerSecondFieldEvent {
        field: '$.offer.pricePerSecond';
        value: Uint8Array<ArrayBuffer>;
    }
    interface QuoteOfferCpuMillisFieldEvent {
        field: '$.offer.cpuMillis';
        value: number;
    }
    interface QuoteOfferMemoryMibFieldEvent {
        field: '$.offer.memoryMib';
        value: number;
    }
    interface QuoteOfferStartFieldEvent {
        field: '$.offer.start';
        value: bigint;
    }
    interface QuoteOfferEndFieldEvent {
        field: '$.offer.end';
        value: bigint;
    }
    interface QuoteOfferSpecHashFieldEvent {
        field: '$.offer.specHash';
        value: Uint8Array<ArrayBuffer>;
    }
    interface QuoteOfferNonceFieldEvent {
        field: '$.offer.nonce';
        value: Uint8Array<ArrayBuffer>;
    }
    interface QuoteOfferDeadlineFieldEvent {
        field: '$.offer.deadline';
        value: bigint;
    }
    interface QuoteProviderSignatureFieldEvent {
        field: '$.providerSignature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface QuoteRoundFieldEvent {
        field: '$.round';
        value: number;
    }
    function encode(obj: Partial<Quote>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Quote>): Quote;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Quote>): Generator<QuoteOfferProviderFieldEvent | QuoteOfferAccountFieldEvent | QuoteOfferTokenFieldEvent | QuoteOfferPricePerSecondFieldEvent | QuoteOfferCpuMillisFieldEvent | QuoteOfferMemoryMibFieldEvent | QuoteOfferStartFieldEvent | QuoteOfferEndFieldEvent | QuoteOfferSpecHashFieldEvent | QuoteOfferNonceFieldEvent | QuoteOfferDeadlineFieldEvent | QuoteProviderSignatureFieldEvent | QuoteRoundFieldEvent>;
}
export interface Offer {
    provider: Uint8Array<ArrayBuffer>;
    account: bigint;
    token: Uint8Array<ArrayBuffer>;
    pricePerSecond: Uint8Array<ArrayBuffer>;
    cpuMillis: number;
    memoryMib: number;
    start: bigint;
    end: bigint;
    specHash: Uint8Array<ArrayBuffer>;
    nonce: Uint8Array<ArrayBuffer>;
    deadline: bigint;
}
export declare namespace Offer {
    const codec: () => Codec<Offer>;
    interface OfferProviderFieldEvent {
        field: '$.provider';
        value: Uint8Array<ArrayBuffer>;
    }
    interface OfferAccountFieldEvent {
        field: '$.account';
        value: bigint;
    }
    interface OfferTokenFieldEvent {
        field: '$.token';
        value: Uint8Array<ArrayBuffer>;
    }
    interface OfferPricePerSecondFieldEvent {
        field: '$.pricePerSecond';
        value: Uint8Array<ArrayBuffer>;
    }
    interface OfferCpuMillisFieldEvent {
        field: '$.cpuMillis';
        value: number;
    }
    interface OfferMemoryMibFieldEvent {
        field: '$.memoryMib';
        value: number;
    }
    interface OfferStartFieldEvent {
        field: '$.start';
        value: bigint;
    }
    interface OfferEndFieldEvent {
        field: '$.end';
        value: bigint;
    }
    interface OfferSpecHashFieldEvent {
        field: '$.specHash';
        value: Uint8Array<ArrayBuffer>;
    }
    interface OfferNonceFieldEvent {
        field: '$.nonce';
        value: Uint8Array<ArrayBuffer>;
    }
    interface OfferDeadlineFieldEvent {
        field: '$.deadline';
        value: bigint;
    }
    function encode(obj: Partial<Offer>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Offer>): Offer;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Offer>): Generator<OfferProviderFieldEvent | OfferAccountFieldEvent | OfferTokenFieldEvent | OfferPricePerSecondFieldEvent | OfferCpuMillisFieldEvent | OfferMemoryMibFieldEvent | OfferStartFieldEvent | OfferEndFieldEvent | OfferSpecHashFieldEvent | OfferNonceFieldEvent | OfferDeadlineFieldEvent>;
}
export interface Counter {
    pricePerSecond: Uint8Array<ArrayBuffer>;
}
export declare namespace Counter {
    const codec: () => Codec<Counter>;
    interface CounterPricePerSecondFieldEvent {
        field: '$.pricePerSecond';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<Counter>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Counter>): Counter;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Counter>): Generator<CounterPricePerSecondFieldEvent>;
}
export interface Accept {
    tenantSignature: Uint8Array<ArrayBuffer>;
}
export declare namespace Accept {
    const codec: () => Codec<Accept>;
    interface AcceptTenantSignatureFieldEvent {
        field: '$.tenantSignature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<Accept>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Accept>): Accept;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Accept>): Generator<AcceptTenantSignatureFieldEvent>;
}
export declare enum RejectCode {
    REJECT_UNSPECIFIED = "REJECT_UNSPECIFIED",
    NO_CAPACITY = "NO_CAPACITY",
    PRICE_BELOW_FLOOR = "PRICE_BELOW_FLOOR",
    UNKNOWN_IMAGE = "UNKNOWN_IMAGE",
    BUDGET_TOO_SMALL = "BUDGET_TOO_SMALL",
    BAD_REQUEST = "BAD_REQUEST",
    BAD_SIGNATURE = "BAD_SIGNATURE",
    TOO_MANY_ROUNDS = "TOO_MANY_ROUNDS",
    RATE_LIMITED = "RATE_LIMITED",
    UNSUPPORTED = "UNSUPPORTED",
    CHAIN_REFUSED = "CHAIN_REFUSED",
    EXPIRED = "EXPIRED",
    INTERNAL = "INTERNAL"
}
export declare namespace RejectCode {
    const codec: () => Codec<RejectCode>;
}
export interface Reject {
    code: RejectCode;
    message: string;
}
export declare namespace Reject {
    const codec: () => Codec<Reject>;
    interface RejectCodeFieldEvent {
        field: '$.code';
        value: RejectCode;
    }
    interface RejectMessageFieldEvent {
        field: '$.message';
        value: string;
    }
    function encode(obj: Partial<Reject>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Reject>): Reject;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Reject>): Generator<RejectCodeFieldEvent | RejectMessageFieldEvent>;
}
export interface Opened {
    leaseId: bigint;
    txHash: Uint8Array<ArrayBuffer>;
}
export declare namespace Opened {
    const codec: () => Codec<Opened>;
    interface OpenedLeaseIdFieldEvent {
        field: '$.leaseId';
        value: bigint;
    }
    interface OpenedTxHashFieldEvent {
        field: '$.txHash';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<Opened>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Opened>): Opened;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Opened>): Generator<OpenedLeaseIdFieldEvent | OpenedTxHashFieldEvent>;
}
export interface Deploy {
    leaseId: bigint;
    imageRef: string;
    imageDigest: Uint8Array<ArrayBuffer>;
    command: string[];
    env: string[];
    ports: number[];
    service: string;
    httpPorts: number[];
    allow: string[];
    udpPorts: number[];
    agent?: AgentPart;
}
export declare namespace Deploy {
    const codec: () => Codec<Deploy>;
    interface DeployLeaseIdFieldEvent {
        field: '$.leaseId';
        value: bigint;
    }
    interface DeployImageRefFieldEvent {
        field: '$.imageRef';
        value: string;
    }
    interface DeployImageDigestFieldEvent {
        field: '$.imageDigest';
        value: Uint8Array<ArrayBuffer>;
    }
    interface DeployCommandFieldEvent {
        field: '$.command[]';
        index: number;
        value: string;
    }
    interface DeployEnvFieldEvent {
        field: '$.env[]';
        index: number;
        value: string;
    }
    interface DeployPortsFieldEvent {
        field: '$.ports[]';
        index: number;
        value: number;
    }
    interface DeployServiceFieldEvent {
        field: '$.service';
        value: string;
    }
    interface DeployHttpPortsFieldEvent {
        field: '$.httpPorts[]';
        index: number;
        value: number;
    }
    interface DeployAllowFieldEvent {
        field: '$.allow[]';
        index: number;
        value: string;
    }
    interface DeployUdpPortsFieldEvent {
        field: '$.udpPorts[]';
        index: number;
        value: number;
    }
    interface DeployAgentImageRefFieldEvent {
        field: '$.agent.imageRef';
        value: string;
    }
    interface DeployAgentImageDigestFieldEvent {
        field: '$.agent.imageDigest';
        value: Uint8Array<ArrayBuffer>;
    }
    interface DeployAgentCommandFieldEvent {
        field: '$.agent.command[]';
        index: number;
        value: string;
    }
    interface DeployAgentCpuMillisFieldEvent {
        field: '$.agent.cpuMillis';
        value: number;
    }
    interface DeployAgentMemoryMibFieldEvent {
        field: '$.agent.memoryMib';
        value: number;
    }
    interface DeployAgentSecretFieldEvent {
        field: '$.agent.secret';
        value: Uint8Array<ArrayBuffer>;
    }
    interface DeployAgentOnceFieldEvent {
        field: '$.agent.once';
        value: boolean;
    }
    function encode(obj: Partial<Deploy>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Deploy>): Deploy;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Deploy>): Generator<DeployLeaseIdFieldEvent | DeployImageRefFieldEvent | DeployImageDigestFieldEvent | DeployCommandFieldEvent | DeployEnvFieldEvent | DeployPortsFieldEvent | DeployServiceFieldEvent | DeployHttpPortsFieldEvent | DeployAllowFieldEvent | DeployUdpPortsFieldEvent | DeployAgentImageRefFieldEvent | DeployAgentImageDigestFieldEvent | DeployAgentCommandFieldEvent | DeployAgentCpuMillisFieldEvent | DeployAgentMemoryMibFieldEvent | DeployAgentSecretFieldEvent | DeployAgentOnceFieldEvent>;
}
export interface AgentPart {
    imageRef: string;
    imageDigest: Uint8Array<ArrayBuffer>;
    command: string[];
    cpuMillis: number;
    memoryMib: number;
    secret: Uint8Array<ArrayBuffer>;
    once: boolean;
}
export declare namespace AgentPart {
    const codec: () => Codec<AgentPart>;
    interface AgentPartImageRefFieldEvent {
        field: '$.imageRef';
        value: string;
    }
    interface AgentPartImageDigestFieldEvent {
        field: '$.imageDigest';
        value: Uint8Array<ArrayBuffer>;
    }
    interface AgentPartCommandFieldEvent {
        field: '$.command[]';
        index: number;
        value: string;
    }
    interface AgentPartCpuMillisFieldEvent {
        field: '$.cpuMillis';
        value: number;
    }
    interface AgentPartMemoryMibFieldEvent {
        field: '$.memoryMib';
        value: number;
    }
    interface AgentPartSecretFieldEvent {
        field: '$.secret';
        value: Uint8Array<ArrayBuffer>;
    }
    interface AgentPartOnceFieldEvent {
        field: '$.once';
        value: boolean;
    }
    function encode(obj: Partial<AgentPart>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<AgentPart>): AgentPart;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<AgentPart>): Generator<AgentPartImageRefFieldEvent | AgentPartImageDigestFieldEvent | AgentPartCommandFieldEvent | AgentPartCpuMillisFieldEvent | AgentPartMemoryMibFieldEvent | AgentPartSecretFieldEvent | AgentPartOnceFieldEvent>;
}
export interface Redeploy {
    leaseId: bigint;
    expires: bigint;
    signature: Uint8Array<ArrayBuffer>;
    deploy?: Deploy;
}
export declare namespace Redeploy {
    const codec: () => Codec<Redeploy>;
    interface RedeployLeaseIdFieldEvent {
        field: '$.leaseId';
        value: bigint;
    }
    interface RedeployExpiresFieldEvent {
        field: '$.expires';
        value: bigint;
    }
    interface RedeploySignatureFieldEvent {
        field: '$.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RedeployDeployLeaseIdFieldEvent {
        field: '$.deploy.leaseId';
        value: bigint;
    }
    interface RedeployDeployImageRefFieldEvent {
        field: '$.deploy.imageRef';
        value: string;
    }
    interface RedeployDeployImageDigestFieldEvent {
        field: '$.deploy.imageDigest';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RedeployDeployCommandFieldEvent {
        field: '$.deploy.command[]';
        index: number;
        value: string;
    }
    interface RedeployDeployEnvFieldEvent {
        field: '$.deploy.env[]';
        index: number;
        value: string;
    }
    interface RedeployDeployPortsFieldEvent {
        field: '$.deploy.ports[]';
        index: number;
        value: number;
    }
    interface RedeployDeployServiceFieldEvent {
        field: '$.deploy.service';
        value: string;
    }
    interface RedeployDeployHttpPortsFieldEvent {
        field: '$.deploy.httpPorts[]';
        index: number;
        value: number;
    }
    interface RedeployDeployAllowFieldEvent {
        field: '$.deploy.allow[]';
        index: number;
        value: string;
    }
    interface RedeployDeployUdpPortsFieldEvent {
        field: '$.deploy.udpPorts[]';
        index: number;
        value: number;
    }
    interface RedeployDeployAgentImageRefFieldEvent {
        field: '$.deploy.agent.imageRef';
        value: string;
    }
    interface RedeployDeployAgentImageDigestFieldEvent {
        field: '$.deploy.agent.imageDigest';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RedeployDeployAgentCommandFieldEvent {
        field: '$.deploy.agent.command[]';
        index: number;
        value: string;
    }
    interface RedeployDeployAgentCpuMillisFieldEvent {
        field: '$.deploy.agent.cpuMillis';
        value: number;
    }
    interface RedeployDeployAgentMemoryMibFieldEvent {
        field: '$.deploy.agent.memoryMib';
        value: number;
    }
    interface RedeployDeployAgentSecretFieldEvent {
        field: '$.deploy.agent.secret';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RedeployDeployAgentOnceFieldEvent {
        field: '$.deploy.agent.once';
        value: boolean;
    }
    function encode(obj: Partial<Redeploy>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Redeploy>): Redeploy;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Redeploy>): Generator<RedeployLeaseIdFieldEvent | RedeployExpiresFieldEvent | RedeploySignatureFieldEvent | RedeployDeployLeaseIdFieldEvent | RedeployDeployImageRefFieldEvent | RedeployDeployImageDigestFieldEvent | RedeployDeployCommandFieldEvent | RedeployDeployEnvFieldEvent | RedeployDeployPortsFieldEvent | RedeployDeployServiceFieldEvent | RedeployDeployHttpPortsFieldEvent | RedeployDeployAllowFieldEvent | RedeployDeployUdpPortsFieldEvent | RedeployDeployAgentImageRefFieldEvent | RedeployDeployAgentImageDigestFieldEvent | RedeployDeployAgentCommandFieldEvent | RedeployDeployAgentCpuMillisFieldEvent | RedeployDeployAgentMemoryMibFieldEvent | RedeployDeployAgentSecretFieldEvent | RedeployDeployAgentOnceFieldEvent>;
}
export interface Running {
    leaseId: bigint;
    endpoint: string;
}
export declare namespace Running {
    const codec: () => Codec<Running>;
    interface RunningLeaseIdFieldEvent {
        field: '$.leaseId';
        value: bigint;
    }
    interface RunningEndpointFieldEvent {
        field: '$.endpoint';
        value: string;
    }
    function encode(obj: Partial<Running>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Running>): Running;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Running>): Generator<RunningLeaseIdFieldEvent | RunningEndpointFieldEvent>;
}
export interface Failed {
    leaseId: bigint;
    message: string;
}
export declare namespace Failed {
    const codec: () => Codec<Failed>;
    interface FailedLeaseIdFieldEvent {
        field: '$.leaseId';
        value: bigint;
    }
    interface FailedMessageFieldEvent {
        field: '$.message';
        value: string;
    }
    function encode(obj: Partial<Failed>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Failed>): Failed;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Failed>): Generator<FailedLeaseIdFieldEvent | FailedMessageFieldEvent>;
}
export interface Terminate {
    leaseId: bigint;
}
export declare namespace Terminate {
    const codec: () => Codec<Terminate>;
    interface TerminateLeaseIdFieldEvent {
        field: '$.leaseId';
        value: bigint;
    }
    function encode(obj: Partial<Terminate>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Terminate>): Terminate;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Terminate>): Generator<TerminateLeaseIdFieldEvent>;
}
