import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';
export interface OverlayEnvelope {
    telemetryRequest?: TelemetryRequest;
    telemetryReply?: TelemetryReply;
    routingRules?: RoutingRules;
    routingAck?: RoutingAck;
    routeQuery?: RouteQuery;
    routeAnswer?: RouteAnswer;
    routePush?: RoutePush;
    error?: OverlayError;
}
export declare namespace OverlayEnvelope {
    const codec: () => Codec<OverlayEnvelope>;
    interface OverlayEnvelopeTelemetryRequestAccessLeaseIdFieldEvent {
        field: '$.telemetryRequest.access.leaseId';
        value: bigint;
    }
    interface OverlayEnvelopeTelemetryRequestAccessExpiresFieldEvent {
        field: '$.telemetryRequest.access.expires';
        value: bigint;
    }
    interface OverlayEnvelopeTelemetryRequestAccessSignatureFieldEvent {
        field: '$.telemetryRequest.access.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface OverlayEnvelopeTelemetryReplyFlowsSubnetFieldEvent {
        field: '$.telemetryReply.flows[].subnet';
        value: string;
        index: number;
    }
    interface OverlayEnvelopeTelemetryReplyFlowsRateMilliFieldEvent {
        field: '$.telemetryReply.flows[].rateMilli';
        value: number;
        index: number;
    }
    interface OverlayEnvelopeTelemetryReplyFlowsLatencyUsFieldEvent {
        field: '$.telemetryReply.flows[].latencyUs';
        value: number;
        index: number;
    }
    interface OverlayEnvelopeTelemetryReplyFlowsRequestsFieldEvent {
        field: '$.telemetryReply.flows[].requests';
        value: bigint;
        index: number;
    }
    interface OverlayEnvelopeTelemetryReplyFlowsClientFieldEvent {
        field: '$.telemetryReply.flows[].client';
        value: string;
        index: number;
    }
    interface OverlayEnvelopeTelemetryReplyFlowsRttUsFieldEvent {
        field: '$.telemetryReply.flows[].rttUs';
        value: number;
        index: number;
    }
    interface OverlayEnvelopeTelemetryReplyAtMsFieldEvent {
        field: '$.telemetryReply.atMs';
        value: bigint;
    }
    interface OverlayEnvelopeRoutingRulesAccessLeaseIdFieldEvent {
        field: '$.routingRules.access.leaseId';
        value: bigint;
    }
    interface OverlayEnvelopeRoutingRulesAccessExpiresFieldEvent {
        field: '$.routingRules.access.expires';
        value: bigint;
    }
    interface OverlayEnvelopeRoutingRulesAccessSignatureFieldEvent {
        field: '$.routingRules.access.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface OverlayEnvelopeRoutingRulesRedirectsSubnetFieldEvent {
        field: '$.routingRules.redirects[].subnet';
        value: string;
        index: number;
    }
    interface OverlayEnvelopeRoutingRulesRedirectsLocationFieldEvent {
        field: '$.routingRules.redirects[].location';
        value: string;
        index: number;
    }
    interface OverlayEnvelopeRoutingRulesStubYardFieldEvent {
        field: '$.routingRules.stub.yard';
        value: string;
    }
    interface OverlayEnvelopeRoutingRulesStubAddrsFieldEvent {
        field: '$.routingRules.stub.addrs[]';
        index: number;
        value: string;
    }
    interface OverlayEnvelopeRoutingRulesStubInstanceIdFieldEvent {
        field: '$.routingRules.stub.instanceId';
        value: bigint;
    }
    interface OverlayEnvelopeRoutingRulesStubEndpointFieldEvent {
        field: '$.routingRules.stub.endpoint';
        value: string;
    }
    interface OverlayEnvelopeRoutingRulesStubGraceSFieldEvent {
        field: '$.routingRules.stub.graceS';
        value: number;
    }
    interface OverlayEnvelopeRouteQueryServiceFieldEvent {
        field: '$.routeQuery.service';
        value: string;
    }
    interface OverlayEnvelopeRouteQueryInterestFieldEvent {
        field: '$.routeQuery.interest';
        value: boolean;
    }
    interface OverlayEnvelopeRouteAnswerInstancesServiceFieldEvent {
        field: '$.routeAnswer.instances[].service';
        value: string;
        index: number;
    }
    interface OverlayEnvelopeRouteAnswerInstancesInstanceIdFieldEvent {
        field: '$.routeAnswer.instances[].instanceId';
        value: bigint;
        index: number;
    }
    interface OverlayEnvelopeRouteAnswerInstancesYardFieldEvent {
        field: '$.routeAnswer.instances[].yard';
        value: string;
        index: number;
    }
    interface OverlayEnvelopeRouteAnswerInstancesAddrsFieldEvent {
        field: '$.routeAnswer.instances[].addrs[]';
        index: number;
        value: string;
    }
    interface OverlayEnvelopeRouteAnswerInstancesPortsFieldEvent {
        field: '$.routeAnswer.instances[].ports[]';
        index: number;
        value: number;
    }
    interface OverlayEnvelopeRouteAnswerInstancesUdpPortsFieldEvent {
        field: '$.routeAnswer.instances[].udpPorts[]';
        index: number;
        value: number;
    }
    interface OverlayEnvelopeRouteAnswerTtlSFieldEvent {
        field: '$.routeAnswer.ttlS';
        value: number;
    }
    interface OverlayEnvelopeRouteAnswerVersionEpochMsFieldEvent {
        field: '$.routeAnswer.version.epochMs';
        value: bigint;
    }
    interface OverlayEnvelopeRouteAnswerVersionSeqFieldEvent {
        field: '$.routeAnswer.version.seq';
        value: bigint;
    }
    interface OverlayEnvelopeRoutePushServiceFieldEvent {
        field: '$.routePush.service';
        value: string;
    }
    interface OverlayEnvelopeRoutePushInstancesServiceFieldEvent {
        field: '$.routePush.instances[].service';
        value: string;
        index: number;
    }
    interface OverlayEnvelopeRoutePushInstancesInstanceIdFieldEvent {
        field: '$.routePush.instances[].instanceId';
        value: bigint;
        index: number;
    }
    interface OverlayEnvelopeRoutePushInstancesYardFieldEvent {
        field: '$.routePush.instances[].yard';
        value: string;
        index: number;
    }
    interface OverlayEnvelopeRoutePushInstancesAddrsFieldEvent {
        field: '$.routePush.instances[].addrs[]';
        index: number;
        value: string;
    }
    interface OverlayEnvelopeRoutePushInstancesPortsFieldEvent {
        field: '$.routePush.instances[].ports[]';
        index: number;
        value: number;
    }
    interface OverlayEnvelopeRoutePushInstancesUdpPortsFieldEvent {
        field: '$.routePush.instances[].udpPorts[]';
        index: number;
        value: number;
    }
    interface OverlayEnvelopeRoutePushVersionEpochMsFieldEvent {
        field: '$.routePush.version.epochMs';
        value: bigint;
    }
    interface OverlayEnvelopeRoutePushVersionSeqFieldEvent {
        field: '$.routePush.version.seq';
        value: bigint;
    }
    interface OverlayEnvelopeErrorCodeFieldEvent {
        field: '$.error.code';
        value: OverlayErrorCode;
    }
    interface OverlayEnvelopeErrorMessageFieldEvent {
        field: '$.error.message';
        value: string;
    }
    function encode(obj: Partial<OverlayEnvelope>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<OverlayEnvelope>): OverlayEnvelope;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<OverlayEnvelope>): Generator<OverlayEnvelopeTelemetryRequestAccessLeaseIdFieldEvent | OverlayEnvelopeTelemetryRequestAccessExpiresFieldEvent | OverlayEnvelopeTelemetryRequestAccessSignatureFieldEvent | OverlayEnvelopeTelemetryReplyFlowsSubnetFieldEvent | OverlayEnvelopeTelemetryReplyFlowsRateMilliFieldEvent | OverlayEnvelopeTelemetryReplyFlowsLatencyUsFieldEvent | OverlayEnvelopeTelemetryReplyFlowsRequestsFieldEvent | OverlayEnvelopeTelemetryReplyFlowsClientFieldEvent | OverlayEnvelopeTelemetryReplyFlowsRttUsFieldEvent | OverlayEnvelopeTelemetryReplyAtMsFieldEvent | OverlayEnvelopeRoutingRulesAccessLeaseIdFieldEvent | OverlayEnvelopeRoutingRulesAccessExpiresFieldEvent | OverlayEnvelopeRoutingRulesAccessSignatureFieldEvent | OverlayEnvelopeRoutingRulesRedirectsSubnetFieldEvent | OverlayEnvelopeRoutingRulesRedirectsLocationFieldEvent | OverlayEnvelopeRoutingRulesStubYardFieldEvent | OverlayEnvelopeRoutingRulesStubAddrsFieldEvent | OverlayEnvelopeRoutingRulesStubInstanceIdFieldEvent | OverlayEnvelopeRoutingRulesStubEndpointFieldEvent | OverlayEnvelopeRoutingRulesStubGraceSFieldEvent | OverlayEnvelopeRouteQueryServiceFieldEvent | OverlayEnvelopeRouteQueryInterestFieldEvent | OverlayEnvelopeRouteAnswerInstancesServiceFieldEvent | OverlayEnvelopeRouteAnswerInstancesInstanceIdFieldEvent | OverlayEnvelopeRouteAnswerInstancesYardFieldEvent | OverlayEnvelopeRouteAnswerInstancesAddrsFieldEvent | OverlayEnvelopeRouteAnswerInstancesPortsFieldEvent | OverlayEnvelopeRouteAnswerInstancesUdpPortsFieldEvent | OverlayEnvelopeRouteAnswerTtlSFieldEvent | OverlayEnvelopeRouteAnswerVersionEpochMsFieldEvent | OverlayEnvelopeRouteAnswerVersionSeqFieldEvent | OverlayEnvelopeRoutePushServiceFieldEvent | OverlayEnvelopeRoutePushInstancesServiceFieldEvent | OverlayEnvelopeRoutePushInstancesInstanceIdFieldEvent | OverlayEnvelopeRoutePushInstancesYardFieldEvent | OverlayEnvelopeRoutePushInstancesAddrsFieldEvent | OverlayEnvelopeRoutePushInstancesPortsFieldEvent | OverlayEnvelopeRoutePushInstancesUdpPortsFieldEvent | OverlayEnvelopeRoutePushVersionEpochMsFieldEvent | OverlayEnvelopeRoutePushVersionSeqFieldEvent | OverlayEnvelopeErrorCodeFieldEvent | OverlayEnvelopeErrorMessageFieldEvent>;
}
export interface TelemetryRequest {
    access?: LeaseAccess;
}
export declare namespace TelemetryRequest {
    const codec: () => Codec<TelemetryRequest>;
    interface TelemetryRequestAccessLeaseIdFieldEvent {
        field: '$.access.leaseId';
        value: bigint;
    }
    interface TelemetryRequestAccessExpiresFieldEvent {
        field: '$.access.expires';
        value: bigint;
    }
    interface TelemetryRequestAccessSignatureFieldEvent {
        field: '$.access.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<TelemetryRequest>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TelemetryRequest>): TelemetryRequest;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TelemetryRequest>): Generator<TelemetryRequestAccessLeaseIdFieldEvent | TelemetryRequestAccessExpiresFieldEvent | TelemetryRequestAccessSignatureFieldEvent>;
}
export interface SubnetFlow {
    subnet: string;
    rateMilli: number;
    latencyUs: number;
    requests: bigint;
    client: string;
    rttUs: number;
}
export declare namespace SubnetFlow {
    const codec: () => Codec<SubnetFlow>;
    interface SubnetFlowSubnetFieldEvent {
        field: '$.subnet';
        value: string;
    }
    interface SubnetFlowRateMilliFieldEvent {
        field: '$.rateMilli';
        value: number;
    }
    interface SubnetFlowLatencyUsFieldEvent {
        field: '$.latencyUs';
        value: number;
    }
    interface SubnetFlowRequestsFieldEvent {
        field: '$.requests';
        value: bigint;
    }
    interface SubnetFlowClientFieldEvent {
        field: '$.client';
        value: string;
    }
    interface SubnetFlowRttUsFieldEvent {
        field: '$.rttUs';
        value: number;
    }
    function encode(obj: Partial<SubnetFlow>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SubnetFlow>): SubnetFlow;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<SubnetFlow>): Generator<SubnetFlowSubnetFieldEvent | SubnetFlowRateMilliFieldEvent | SubnetFlowLatencyUsFieldEvent | SubnetFlowRequestsFieldEvent | SubnetFlowClientFieldEvent | SubnetFlowRttUsFieldEvent>;
}
export interface TelemetryReply {
    flows: SubnetFlow[];
    atMs: bigint;
}
export declare namespace TelemetryReply {
    const codec: () => Codec<TelemetryReply>;
    interface TelemetryReplyFlowsSubnetFieldEvent {
        field: '$.flows[].subnet';
        value: string;
        index: number;
    }
    interface TelemetryReplyFlowsRateMilliFieldEvent {
        field: '$.flows[].rateMilli';
        value: number;
        index: number;
    }
    interface TelemetryReplyFlowsLatencyUsFieldEvent {
        field: '$.flows[].latencyUs';
        value: number;
        index: number;
    }
    interface TelemetryReplyFlowsRequestsFieldEvent {
        field: '$.flows[].requests';
        value: bigint;
        index: number;
    }
    interface TelemetryReplyFlowsClientFieldEvent {
        field: '$.flows[].client';
        value: string;
        index: number;
    }
    interface TelemetryReplyFlowsRttUsFieldEvent {
        field: '$.flows[].rttUs';
        value: number;
        index: number;
    }
    interface TelemetryReplyAtMsFieldEvent {
        field: '$.atMs';
        value: bigint;
    }
    function encode(obj: Partial<TelemetryReply>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TelemetryReply>): TelemetryReply;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TelemetryReply>): Generator<TelemetryReplyFlowsSubnetFieldEvent | TelemetryReplyFlowsRateMilliFieldEvent | TelemetryReplyFlowsLatencyUsFieldEvent | TelemetryReplyFlowsRequestsFieldEvent | TelemetryReplyFlowsClientFieldEvent | TelemetryReplyFlowsRttUsFieldEvent | TelemetryReplyAtMsFieldEvent>;
}
export interface Redirect {
    subnet: string;
    location: string;
}
export declare namespace Redirect {
    const codec: () => Codec<Redirect>;
    interface RedirectSubnetFieldEvent {
        field: '$.subnet';
        value: string;
    }
    interface RedirectLocationFieldEvent {
        field: '$.location';
        value: string;
    }
    function encode(obj: Partial<Redirect>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Redirect>): Redirect;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Redirect>): Generator<RedirectSubnetFieldEvent | RedirectLocationFieldEvent>;
}
export interface Stub {
    yard: string;
    addrs: string[];
    instanceId: bigint;
    endpoint: string;
    graceS: number;
}
export declare namespace Stub {
    const codec: () => Codec<Stub>;
    interface StubYardFieldEvent {
        field: '$.yard';
        value: string;
    }
    interface StubAddrsFieldEvent {
        field: '$.addrs[]';
        index: number;
        value: string;
    }
    interface StubInstanceIdFieldEvent {
        field: '$.instanceId';
        value: bigint;
    }
    interface StubEndpointFieldEvent {
        field: '$.endpoint';
        value: string;
    }
    interface StubGraceSFieldEvent {
        field: '$.graceS';
        value: number;
    }
    function encode(obj: Partial<Stub>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Stub>): Stub;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Stub>): Generator<StubYardFieldEvent | StubAddrsFieldEvent | StubInstanceIdFieldEvent | StubEndpointFieldEvent | StubGraceSFieldEvent>;
}
export interface RoutingRules {
    access?: LeaseAccess;
    redirects: Redirect[];
    stub?: Stub;
}
export declare namespace RoutingRules {
    const codec: () => Codec<RoutingRules>;
    interface RoutingRulesAccessLeaseIdFieldEvent {
        field: '$.access.leaseId';
        value: bigint;
    }
    interface RoutingRulesAccessExpiresFieldEvent {
        field: '$.access.expires';
        value: bigint;
    }
    interface RoutingRulesAccessSignatureFieldEvent {
        field: '$.access.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RoutingRulesRedirectsSubnetFieldEvent {
        field: '$.redirects[].subnet';
        value: string;
        index: number;
    }
    interface RoutingRulesRedirectsLocationFieldEvent {
        field: '$.redirects[].location';
        value: string;
        index: number;
    }
    interface RoutingRulesStubYardFieldEvent {
        field: '$.stub.yard';
        value: string;
    }
    interface RoutingRulesStubAddrsFieldEvent {
        field: '$.stub.addrs[]';
        index: number;
        value: string;
    }
    interface RoutingRulesStubInstanceIdFieldEvent {
        field: '$.stub.instanceId';
        value: bigint;
    }
    interface RoutingRulesStubEndpointFieldEvent {
        field: '$.stub.endpoint';
        value: string;
    }
    interface RoutingRulesStubGraceSFieldEvent {
        field: '$.stub.graceS';
        value: number;
    }
    function encode(obj: Partial<RoutingRules>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RoutingRules>): RoutingRules;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RoutingRules>): Generator<RoutingRulesAccessLeaseIdFieldEvent | RoutingRulesAccessExpiresFieldEvent | RoutingRulesAccessSignatureFieldEvent | RoutingRulesRedirectsSubnetFieldEvent | RoutingRulesRedirectsLocationFieldEvent | RoutingRulesStubYardFieldEvent | RoutingRulesStubAddrsFieldEvent | RoutingRulesStubInstanceIdFieldEvent | RoutingRulesStubEndpointFieldEvent | RoutingRulesStubGraceSFieldEvent>;
}
export interface RoutingAck {
}
export declare namespace RoutingAck {
    const codec: () => Codec<RoutingAck>;
    function encode(obj: Partial<RoutingAck>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RoutingAck>): RoutingAck;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RoutingAck>): Generator<{}>;
}
export interface RouteQuery {
    service: string;
    interest: boolean;
}
export declare namespace RouteQuery {
    const codec: () => Codec<RouteQuery>;
    interface RouteQueryServiceFieldEvent {
        field: '$.service';
        value: string;
    }
    interface RouteQueryInterestFieldEvent {
        field: '$.interest';
        value: boolean;
    }
    function encode(obj: Partial<RouteQuery>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RouteQuery>): RouteQuery;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RouteQuery>): Generator<RouteQueryServiceFieldEvent | RouteQueryInterestFieldEvent>;
}
export interface RouteInstance {
    service: string;
    instanceId: bigint;
    yard: string;
    addrs: string[];
    ports: number[];
    udpPorts: number[];
}
export declare namespace RouteInstance {
    const codec: () => Codec<RouteInstance>;
    interface RouteInstanceServiceFieldEvent {
        field: '$.service';
        value: string;
    }
    interface RouteInstanceInstanceIdFieldEvent {
        field: '$.instanceId';
        value: bigint;
    }
    interface RouteInstanceYardFieldEvent {
        field: '$.yard';
        value: string;
    }
    interface RouteInstanceAddrsFieldEvent {
        field: '$.addrs[]';
        index: number;
        value: string;
    }
    interface RouteInstancePortsFieldEvent {
        field: '$.ports[]';
        index: number;
        value: number;
    }
    interface RouteInstanceUdpPortsFieldEvent {
        field: '$.udpPorts[]';
        index: number;
        value: number;
    }
    function encode(obj: Partial<RouteInstance>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RouteInstance>): RouteInstance;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RouteInstance>): Generator<RouteInstanceServiceFieldEvent | RouteInstanceInstanceIdFieldEvent | RouteInstanceYardFieldEvent | RouteInstanceAddrsFieldEvent | RouteInstancePortsFieldEvent | RouteInstanceUdpPortsFieldEvent>;
}
export interface RouteVersion {
    epochMs: bigint;
    seq: bigint;
}
export declare namespace RouteVersion {
    const codec: () => Codec<RouteVersion>;
    interface RouteVersionEpochMsFieldEvent {
        field: '$.epochMs';
        value: bigint;
    }
    interface RouteVersionSeqFieldEvent {
        field: '$.seq';
        value: bigint;
    }
    function encode(obj: Partial<RouteVersion>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RouteVersion>): RouteVersion;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RouteVersion>): Generator<RouteVersionEpochMsFieldEvent | RouteVersionSeqFieldEvent>;
}
export interface RouteAnswer {
    instances: RouteInstance[];
    ttlS: number;
    version?: RouteVersion;
}
export declare namespace RouteAnswer {
    const codec: () => Codec<RouteAnswer>;
    interface RouteAnswerInstancesServiceFieldEvent {
        field: '$.instances[].service';
        value: string;
        index: number;
    }
    interface RouteAnswerInstancesInstanceIdFieldEvent {
        field: '$.instances[].instanceId';
        value: bigint;
        index: number;
    }
    interface RouteAnswerInstancesYardFieldEvent {
        field: '$.instances[].yard';
        value: string;
        index: number;
    }
    interface RouteAnswerInstancesAddrsFieldEvent {
        field: '$.instances[].addrs[]';
        index: number;
        value: string;
    }
    interface RouteAnswerInstancesPortsFieldEvent {
        field: '$.instances[].ports[]';
        index: number;
        value: number;
    }
    interface RouteAnswerInstancesUdpPortsFieldEvent {
        field: '$.instances[].udpPorts[]';
        index: number;
        value: number;
    }
    interface RouteAnswerTtlSFieldEvent {
        field: '$.ttlS';
        value: number;
    }
    interface RouteAnswerVersionEpochMsFieldEvent {
        field: '$.version.epochMs';
        value: bigint;
    }
    interface RouteAnswerVersionSeqFieldEvent {
        field: '$.version.seq';
        value: bigint;
    }
    function encode(obj: Partial<RouteAnswer>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RouteAnswer>): RouteAnswer;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RouteAnswer>): Generator<RouteAnswerInstancesServiceFieldEvent | RouteAnswerInstancesInstanceIdFieldEvent | RouteAnswerInstancesYardFieldEvent | RouteAnswerInstancesAddrsFieldEvent | RouteAnswerInstancesPortsFieldEvent | RouteAnswerInstancesUdpPortsFieldEvent | RouteAnswerTtlSFieldEvent | RouteAnswerVersionEpochMsFieldEvent | RouteAnswerVersionSeqFieldEvent>;
}
export interface RoutePush {
    service: string;
    instances: RouteInstance[];
    version?: RouteVersion;
}
export declare namespace RoutePush {
    const codec: () => Codec<RoutePush>;
    interface RoutePushServiceFieldEvent {
        field: '$.service';
        value: string;
    }
    interface RoutePushInstancesServiceFieldEvent {
        field: '$.instances[].service';
        value: string;
        index: number;
    }
    interface RoutePushInstancesInstanceIdFieldEvent {
        field: '$.instances[].instanceId';
        value: bigint;
        index: number;
    }
    interface RoutePushInstancesYardFieldEvent {
        field: '$.instances[].yard';
        value: string;
        index: number;
    }
    interface RoutePushInstancesAddrsFieldEvent {
        field: '$.instances[].addrs[]';
        index: number;
        value: string;
    }
    interface RoutePushInstancesPortsFieldEvent {
        field: '$.instances[].ports[]';
        index: number;
        value: number;
    }
    interface RoutePushInstancesUdpPortsFieldEvent {
        field: '$.instances[].udpPorts[]';
        index: number;
        value: number;
    }
    interface RoutePushVersionEpochMsFieldEvent {
        field: '$.version.epochMs';
        value: bigint;
    }
    interface RoutePushVersionSeqFieldEvent {
        field: '$.version.seq';
        value: bigint;
    }
    function encode(obj: Partial<RoutePush>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RoutePush>): RoutePush;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RoutePush>): Generator<RoutePushServiceFieldEvent | RoutePushInstancesServiceFieldEvent | RoutePushInstancesInstanceIdFieldEvent | RoutePushInstancesYardFieldEvent | RoutePushInstancesAddrsFieldEvent | RoutePushInstancesPortsFieldEvent | RoutePushInstancesUdpPortsFieldEvent | RoutePushVersionEpochMsFieldEvent | RoutePushVersionSeqFieldEvent>;
}
export declare enum OverlayErrorCode {
    OVERLAY_ERROR_UNSPECIFIED = "OVERLAY_ERROR_UNSPECIFIED",
    OVERLAY_DENIED = "OVERLAY_DENIED",
    OVERLAY_UNKNOWN_LEASE = "OVERLAY_UNKNOWN_LEASE",
    OVERLAY_BAD_FRAME = "OVERLAY_BAD_FRAME",
    OVERLAY_INTERNAL = "OVERLAY_INTERNAL"
}
export declare namespace OverlayErrorCode {
    const codec: () => Codec<OverlayErrorCode>;
}
export interface OverlayError {
    code: OverlayErrorCode;
    message: string;
}
export declare namespace OverlayError {
    const codec: () => Codec<OverlayError>;
    interface OverlayErrorCodeFieldEvent {
        field: '$.code';
        value: OverlayErrorCode;
    }
    interface OverlayErrorMessageFieldEvent {
        field: '$.message';
        value: string;
    }
    function encode(obj: Partial<OverlayError>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<OverlayError>): OverlayError;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<OverlayError>): Generator<OverlayErrorCodeFieldEvent | OverlayErrorMessageFieldEvent>;
}
export interface YardEnvelope {
    imageOffer?: ImageOffer;
    imageStatus?: ImageStatus;
    imageChunk?: ImageChunk;
    imageLoaded?: ImageLoaded;
    logsRequest?: LogsRequest;
    logsReply?: LogsReply;
    error?: YardError;
}
export declare namespace YardEnvelope {
    const codec: () => Codec<YardEnvelope>;
    interface YardEnvelopeImageOfferAccessLeaseIdFieldEvent {
        field: '$.imageOffer.access.leaseId';
        value: bigint;
    }
    interface YardEnvelopeImageOfferAccessExpiresFieldEvent {
        field: '$.imageOffer.access.expires';
        value: bigint;
    }
    interface YardEnvelopeImageOfferAccessSignatureFieldEvent {
        field: '$.imageOffer.access.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface YardEnvelopeImageOfferImageIdFieldEvent {
        field: '$.imageOffer.imageId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface YardEnvelopeImageOfferTarSha256FieldEvent {
        field: '$.imageOffer.tarSha256';
        value: Uint8Array<ArrayBuffer>;
    }
    interface YardEnvelopeImageOfferSizeFieldEvent {
        field: '$.imageOffer.size';
        value: bigint;
    }
    interface YardEnvelopeImageStatusPresentFieldEvent {
        field: '$.imageStatus.present';
        value: boolean;
    }
    interface YardEnvelopeImageStatusOffsetFieldEvent {
        field: '$.imageStatus.offset';
        value: bigint;
    }
    interface YardEnvelopeImageChunkOffsetFieldEvent {
        field: '$.imageChunk.offset';
        value: bigint;
    }
    interface YardEnvelopeImageChunkDataFieldEvent {
        field: '$.imageChunk.data';
        value: Uint8Array<ArrayBuffer>;
    }
    interface YardEnvelopeImageLoadedImageIdFieldEvent {
        field: '$.imageLoaded.imageId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface YardEnvelopeLogsRequestAccessLeaseIdFieldEvent {
        field: '$.logsRequest.access.leaseId';
        value: bigint;
    }
    interface YardEnvelopeLogsRequestAccessExpiresFieldEvent {
        field: '$.logsRequest.access.expires';
        value: bigint;
    }
    interface YardEnvelopeLogsRequestAccessSignatureFieldEvent {
        field: '$.logsRequest.access.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface YardEnvelopeLogsRequestTailFieldEvent {
        field: '$.logsRequest.tail';
        value: number;
    }
    interface YardEnvelopeLogsReplyStateFieldEvent {
        field: '$.logsReply.state';
        value: string;
    }
    interface YardEnvelopeLogsReplyExitCodeFieldEvent {
        field: '$.logsReply.exitCode';
        value: number;
    }
    interface YardEnvelopeLogsReplyOomKilledFieldEvent {
        field: '$.logsReply.oomKilled';
        value: boolean;
    }
    interface YardEnvelopeLogsReplyRestartsFieldEvent {
        field: '$.logsReply.restarts';
        value: number;
    }
    interface YardEnvelopeLogsReplyTextFieldEvent {
        field: '$.logsReply.text';
        value: string;
    }
    interface YardEnvelopeErrorCodeFieldEvent {
        field: '$.error.code';
        value: YardErrorCode;
    }
    interface YardEnvelopeErrorMessageFieldEvent {
        field: '$.error.message';
        value: string;
    }
    function encode(obj: Partial<YardEnvelope>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<YardEnvelope>): YardEnvelope;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<YardEnvelope>): Generator<YardEnvelopeImageOfferAccessLeaseIdFieldEvent | YardEnvelopeImageOfferAccessExpiresFieldEvent | YardEnvelopeImageOfferAccessSignatureFieldEvent | YardEnvelopeImageOfferImageIdFieldEvent | YardEnvelopeImageOfferTarSha256FieldEvent | YardEnvelopeImageOfferSizeFieldEvent | YardEnvelopeImageStatusPresentFieldEvent | YardEnvelopeImageStatusOffsetFieldEvent | YardEnvelopeImageChunkOffsetFieldEvent | YardEnvelopeImageChunkDataFieldEvent | YardEnvelopeImageLoadedImageIdFieldEvent | YardEnvelopeLogsRequestAccessLeaseIdFieldEvent | YardEnvelopeLogsRequestAccessExpiresFieldEvent | YardEnvelopeLogsRequestAccessSignatureFieldEvent | YardEnvelopeLogsRequestTailFieldEvent | YardEnvelopeLogsReplyStateFieldEvent | YardEnvelopeLogsReplyExitCodeFieldEvent | YardEnvelopeLogsReplyOomKilledFieldEvent | YardEnvelopeLogsReplyRestartsFieldEvent | YardEnvelopeLogsReplyTextFieldEvent | YardEnvelopeErrorCodeFieldEvent | YardEnvelopeErrorMessageFieldEvent>;
}
export interface LeaseAccess {
    leaseId: bigint;
    expires: bigint;
    signature: Uint8Array<ArrayBuffer>;
}
export declare namespace LeaseAccess {
    const codec: () => Codec<LeaseAccess>;
    interface LeaseAccessLeaseIdFieldEvent {
        field: '$.leaseId';
        value: bigint;
    }
    interface LeaseAccessExpiresFieldEvent {
        field: '$.expires';
        value: bigint;
    }
    interface LeaseAccessSignatureFieldEvent {
        field: '$.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<LeaseAccess>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LeaseAccess>): LeaseAccess;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LeaseAccess>): Generator<LeaseAccessLeaseIdFieldEvent | LeaseAccessExpiresFieldEvent | LeaseAccessSignatureFieldEvent>;
}
export interface ImageOffer {
    access?: LeaseAccess;
    imageId: Uint8Array<ArrayBuffer>;
    tarSha256: Uint8Array<ArrayBuffer>;
    size: bigint;
}
export declare namespace ImageOffer {
    const codec: () => Codec<ImageOffer>;
    interface ImageOfferAccessLeaseIdFieldEvent {
        field: '$.access.leaseId';
        value: bigint;
    }
    interface ImageOfferAccessExpiresFieldEvent {
        field: '$.access.expires';
        value: bigint;
    }
    interface ImageOfferAccessSignatureFieldEvent {
        field: '$.access.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ImageOfferImageIdFieldEvent {
        field: '$.imageId';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ImageOfferTarSha256FieldEvent {
        field: '$.tarSha256';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ImageOfferSizeFieldEvent {
        field: '$.size';
        value: bigint;
    }
    function encode(obj: Partial<ImageOffer>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ImageOffer>): ImageOffer;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ImageOffer>): Generator<ImageOfferAccessLeaseIdFieldEvent | ImageOfferAccessExpiresFieldEvent | ImageOfferAccessSignatureFieldEvent | ImageOfferImageIdFieldEvent | ImageOfferTarSha256FieldEvent | ImageOfferSizeFieldEvent>;
}
export interface ImageStatus {
    present: boolean;
    offset: bigint;
}
export declare namespace ImageStatus {
    const codec: () => Codec<ImageStatus>;
    interface ImageStatusPresentFieldEvent {
        field: '$.present';
        value: boolean;
    }
    interface ImageStatusOffsetFieldEvent {
        field: '$.offset';
        value: bigint;
    }
    function encode(obj: Partial<ImageStatus>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ImageStatus>): ImageStatus;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ImageStatus>): Generator<ImageStatusPresentFieldEvent | ImageStatusOffsetFieldEvent>;
}
export interface ImageChunk {
    offset: bigint;
    data: Uint8Array<ArrayBuffer>;
}
export declare namespace ImageChunk {
    const codec: () => Codec<ImageChunk>;
    interface ImageChunkOffsetFieldEvent {
        field: '$.offset';
        value: bigint;
    }
    interface ImageChunkDataFieldEvent {
        field: '$.data';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<ImageChunk>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ImageChunk>): ImageChunk;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ImageChunk>): Generator<ImageChunkOffsetFieldEvent | ImageChunkDataFieldEvent>;
}
export interface ImageLoaded {
    imageId: Uint8Array<ArrayBuffer>;
}
export declare namespace ImageLoaded {
    const codec: () => Codec<ImageLoaded>;
    interface ImageLoadedImageIdFieldEvent {
        field: '$.imageId';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<ImageLoaded>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ImageLoaded>): ImageLoaded;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ImageLoaded>): Generator<ImageLoadedImageIdFieldEvent>;
}
export interface LogsRequest {
    access?: LeaseAccess;
    tail: number;
}
export declare namespace LogsRequest {
    const codec: () => Codec<LogsRequest>;
    interface LogsRequestAccessLeaseIdFieldEvent {
        field: '$.access.leaseId';
        value: bigint;
    }
    interface LogsRequestAccessExpiresFieldEvent {
        field: '$.access.expires';
        value: bigint;
    }
    interface LogsRequestAccessSignatureFieldEvent {
        field: '$.access.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface LogsRequestTailFieldEvent {
        field: '$.tail';
        value: number;
    }
    function encode(obj: Partial<LogsRequest>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LogsRequest>): LogsRequest;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LogsRequest>): Generator<LogsRequestAccessLeaseIdFieldEvent | LogsRequestAccessExpiresFieldEvent | LogsRequestAccessSignatureFieldEvent | LogsRequestTailFieldEvent>;
}
export interface LogsReply {
    state: string;
    exitCode: number;
    oomKilled: boolean;
    restarts: number;
    text: string;
}
export declare namespace LogsReply {
    const codec: () => Codec<LogsReply>;
    interface LogsReplyStateFieldEvent {
        field: '$.state';
        value: string;
    }
    interface LogsReplyExitCodeFieldEvent {
        field: '$.exitCode';
        value: number;
    }
    interface LogsReplyOomKilledFieldEvent {
        field: '$.oomKilled';
        value: boolean;
    }
    interface LogsReplyRestartsFieldEvent {
        field: '$.restarts';
        value: number;
    }
    interface LogsReplyTextFieldEvent {
        field: '$.text';
        value: string;
    }
    function encode(obj: Partial<LogsReply>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LogsReply>): LogsReply;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<LogsReply>): Generator<LogsReplyStateFieldEvent | LogsReplyExitCodeFieldEvent | LogsReplyOomKilledFieldEvent | LogsReplyRestartsFieldEvent | LogsReplyTextFieldEvent>;
}
export declare enum YardErrorCode {
    YARD_ERROR_UNSPECIFIED = "YARD_ERROR_UNSPECIFIED",
    DENIED = "DENIED",
    UNKNOWN_LEASE = "UNKNOWN_LEASE",
    BAD_IMAGE = "BAD_IMAGE",
    BAD_FRAME = "BAD_FRAME",
    INTERNAL = "INTERNAL",
    BUSY = "BUSY"
}
export declare namespace YardErrorCode {
    const codec: () => Codec<YardErrorCode>;
}
export interface YardError {
    code: YardErrorCode;
    message: string;
}
export declare namespace YardError {
    const codec: () => Codec<YardError>;
    interface YardErrorCodeFieldEvent {
        field: '$.code';
        value: YardErrorCode;
    }
    interface YardErrorMessageFieldEvent {
        field: '$.message';
        value: string;
    }
    function encode(obj: Partial<YardError>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<YardError>): YardError;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<YardError>): Generator<YardErrorCodeFieldEvent | YardErrorMessageFieldEvent>;
}
