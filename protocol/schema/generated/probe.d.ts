import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';
export interface ProbeEnvelope {
    request?: ProbeRequest;
    answer?: ProbeAnswer;
    error?: ProbeError;
}
export declare namespace ProbeEnvelope {
    const codec: () => Codec<ProbeEnvelope>;
    interface ProbeEnvelopeRequestAccessLeaseIdFieldEvent {
        field: '$.request.access.leaseId';
        value: bigint;
    }
    interface ProbeEnvelopeRequestAccessExpiresFieldEvent {
        field: '$.request.access.expires';
        value: bigint;
    }
    interface ProbeEnvelopeRequestAccessSignatureFieldEvent {
        field: '$.request.access.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ProbeEnvelopeRequestTargetFieldEvent {
        field: '$.request.target';
        value: string;
    }
    interface ProbeEnvelopeRequestMaxHopsFieldEvent {
        field: '$.request.maxHops';
        value: number;
    }
    interface ProbeEnvelopeRequestNonceFieldEvent {
        field: '$.request.nonce';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ProbeEnvelopeAnswerLeaseIdFieldEvent {
        field: '$.answer.leaseId';
        value: bigint;
    }
    interface ProbeEnvelopeAnswerTargetFieldEvent {
        field: '$.answer.target';
        value: string;
    }
    interface ProbeEnvelopeAnswerAtFieldEvent {
        field: '$.answer.at';
        value: bigint;
    }
    interface ProbeEnvelopeAnswerHopsTtlFieldEvent {
        field: '$.answer.hops[].ttl';
        value: number;
        index: number;
    }
    interface ProbeEnvelopeAnswerHopsAddressFieldEvent {
        field: '$.answer.hops[].address';
        value: string;
        index: number;
    }
    interface ProbeEnvelopeAnswerHopsRttUsFieldEvent {
        field: '$.answer.hops[].rttUs';
        value: number;
        index: number;
    }
    interface ProbeEnvelopeAnswerReachedFieldEvent {
        field: '$.answer.reached';
        value: boolean;
    }
    interface ProbeEnvelopeAnswerRttUsFieldEvent {
        field: '$.answer.rttUs';
        value: number;
    }
    interface ProbeEnvelopeAnswerPacketsFieldEvent {
        field: '$.answer.packets';
        value: number;
    }
    interface ProbeEnvelopeAnswerElapsedMsFieldEvent {
        field: '$.answer.elapsedMs';
        value: number;
    }
    interface ProbeEnvelopeAnswerYardFieldEvent {
        field: '$.answer.yard';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ProbeEnvelopeAnswerSignatureFieldEvent {
        field: '$.answer.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ProbeEnvelopeAnswerNonceFieldEvent {
        field: '$.answer.nonce';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ProbeEnvelopeAnswerSeqFieldEvent {
        field: '$.answer.seq';
        value: bigint;
    }
    interface ProbeEnvelopeErrorCodeFieldEvent {
        field: '$.error.code';
        value: ProbeErrorCode;
    }
    interface ProbeEnvelopeErrorMessageFieldEvent {
        field: '$.error.message';
        value: string;
    }
    interface ProbeEnvelopeErrorRetryAfterMsFieldEvent {
        field: '$.error.retryAfterMs';
        value: number;
    }
    function encode(obj: Partial<ProbeEnvelope>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ProbeEnvelope>): ProbeEnvelope;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ProbeEnvelope>): Generator<ProbeEnvelopeRequestAccessLeaseIdFieldEvent | ProbeEnvelopeRequestAccessExpiresFieldEvent | ProbeEnvelopeRequestAccessSignatureFieldEvent | ProbeEnvelopeRequestTargetFieldEvent | ProbeEnvelopeRequestMaxHopsFieldEvent | ProbeEnvelopeRequestNonceFieldEvent | ProbeEnvelopeAnswerLeaseIdFieldEvent | ProbeEnvelopeAnswerTargetFieldEvent | ProbeEnvelopeAnswerAtFieldEvent | ProbeEnvelopeAnswerHopsTtlFieldEvent | ProbeEnvelopeAnswerHopsAddressFieldEvent | ProbeEnvelopeAnswerHopsRttUsFieldEvent | ProbeEnvelopeAnswerReachedFieldEvent | ProbeEnvelopeAnswerRttUsFieldEvent | ProbeEnvelopeAnswerPacketsFieldEvent | ProbeEnvelopeAnswerElapsedMsFieldEvent | ProbeEnvelopeAnswerYardFieldEvent | ProbeEnvelopeAnswerSignatureFieldEvent | ProbeEnvelopeAnswerNonceFieldEvent | ProbeEnvelopeAnswerSeqFieldEvent | ProbeEnvelopeErrorCodeFieldEvent | ProbeEnvelopeErrorMessageFieldEvent | ProbeEnvelopeErrorRetryAfterMsFieldEvent>;
}
export interface ProbeAccess {
    leaseId: bigint;
    expires: bigint;
    signature: Uint8Array<ArrayBuffer>;
}
export declare namespace ProbeAccess {
    const codec: () => Codec<ProbeAccess>;
    interface ProbeAccessLeaseIdFieldEvent {
        field: '$.leaseId';
        value: bigint;
    }
    interface ProbeAccessExpiresFieldEvent {
        field: '$.expires';
        value: bigint;
    }
    interface ProbeAccessSignatureFieldEvent {
        field: '$.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<ProbeAccess>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ProbeAccess>): ProbeAccess;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ProbeAccess>): Generator<ProbeAccessLeaseIdFieldEvent | ProbeAccessExpiresFieldEvent | ProbeAccessSignatureFieldEvent>;
}
export interface ProbeRequest {
    access?: ProbeAccess;
    target: string;
    maxHops: number;
    nonce: Uint8Array<ArrayBuffer>;
}
export declare namespace ProbeRequest {
    const codec: () => Codec<ProbeRequest>;
    interface ProbeRequestAccessLeaseIdFieldEvent {
        field: '$.access.leaseId';
        value: bigint;
    }
    interface ProbeRequestAccessExpiresFieldEvent {
        field: '$.access.expires';
        value: bigint;
    }
    interface ProbeRequestAccessSignatureFieldEvent {
        field: '$.access.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ProbeRequestTargetFieldEvent {
        field: '$.target';
        value: string;
    }
    interface ProbeRequestMaxHopsFieldEvent {
        field: '$.maxHops';
        value: number;
    }
    interface ProbeRequestNonceFieldEvent {
        field: '$.nonce';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<ProbeRequest>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ProbeRequest>): ProbeRequest;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ProbeRequest>): Generator<ProbeRequestAccessLeaseIdFieldEvent | ProbeRequestAccessExpiresFieldEvent | ProbeRequestAccessSignatureFieldEvent | ProbeRequestTargetFieldEvent | ProbeRequestMaxHopsFieldEvent | ProbeRequestNonceFieldEvent>;
}
export interface ProbeHop {
    ttl: number;
    address: string;
    rttUs?: number;
}
export declare namespace ProbeHop {
    const codec: () => Codec<ProbeHop>;
    interface ProbeHopTtlFieldEvent {
        field: '$.ttl';
        value: number;
    }
    interface ProbeHopAddressFieldEvent {
        field: '$.address';
        value: string;
    }
    interface ProbeHopRttUsFieldEvent {
        field: '$.rttUs';
        value: number;
    }
    function encode(obj: Partial<ProbeHop>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ProbeHop>): ProbeHop;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ProbeHop>): Generator<ProbeHopTtlFieldEvent | ProbeHopAddressFieldEvent | ProbeHopRttUsFieldEvent>;
}
export interface ProbeAnswer {
    leaseId: bigint;
    target: string;
    at: bigint;
    hops: ProbeHop[];
    reached: boolean;
    rttUs?: number;
    packets: number;
    elapsedMs: number;
    yard: Uint8Array<ArrayBuffer>;
    signature: Uint8Array<ArrayBuffer>;
    nonce: Uint8Array<ArrayBuffer>;
    seq: bigint;
}
export declare namespace ProbeAnswer {
    const codec: () => Codec<ProbeAnswer>;
    interface ProbeAnswerLeaseIdFieldEvent {
        field: '$.leaseId';
        value: bigint;
    }
    interface ProbeAnswerTargetFieldEvent {
        field: '$.target';
        value: string;
    }
    interface ProbeAnswerAtFieldEvent {
        field: '$.at';
        value: bigint;
    }
    interface ProbeAnswerHopsTtlFieldEvent {
        field: '$.hops[].ttl';
        value: number;
        index: number;
    }
    interface ProbeAnswerHopsAddressFieldEvent {
        field: '$.hops[].address';
        value: string;
        index: number;
    }
    interface ProbeAnswerHopsRttUsFieldEvent {
        field: '$.hops[].rttUs';
        value: number;
        index: number;
    }
    interface ProbeAnswerReachedFieldEvent {
        field: '$.reached';
        value: boolean;
    }
    interface ProbeAnswerRttUsFieldEvent {
        field: '$.rttUs';
        value: number;
    }
    interface ProbeAnswerPacketsFieldEvent {
        field: '$.packets';
        value: number;
    }
    interface ProbeAnswerElapsedMsFieldEvent {
        field: '$.elapsedMs';
        value: number;
    }
    interface ProbeAnswerYardFieldEvent {
        field: '$.yard';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ProbeAnswerSignatureFieldEvent {
        field: '$.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ProbeAnswerNonceFieldEvent {
        field: '$.nonce';
        value: Uint8Array<ArrayBuffer>;
    }
    interface ProbeAnswerSeqFieldEvent {
        field: '$.seq';
        value: bigint;
    }
    function encode(obj: Partial<ProbeAnswer>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ProbeAnswer>): ProbeAnswer;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ProbeAnswer>): Generator<ProbeAnswerLeaseIdFieldEvent | ProbeAnswerTargetFieldEvent | ProbeAnswerAtFieldEvent | ProbeAnswerHopsTtlFieldEvent | ProbeAnswerHopsAddressFieldEvent | ProbeAnswerHopsRttUsFieldEvent | ProbeAnswerReachedFieldEvent | ProbeAnswerRttUsFieldEvent | ProbeAnswerPacketsFieldEvent | ProbeAnswerElapsedMsFieldEvent | ProbeAnswerYardFieldEvent | ProbeAnswerSignatureFieldEvent | ProbeAnswerNonceFieldEvent | ProbeAnswerSeqFieldEvent>;
}
export declare enum ProbeErrorCode {
    PROBE_ERROR_UNSPECIFIED = "PROBE_ERROR_UNSPECIFIED",
    DENIED = "DENIED",
    UNKNOWN_LEASE = "UNKNOWN_LEASE",
    NOT_RUNNING = "NOT_RUNNING",
    NOT_A_CLIENT = "NOT_A_CLIENT",
    BAD_TARGET = "BAD_TARGET",
    RATE_LIMITED = "RATE_LIMITED",
    BUSY = "BUSY",
    BAD_FRAME = "BAD_FRAME",
    DISABLED = "DISABLED",
    FAILED = "FAILED",
    INTERNAL = "INTERNAL"
}
export declare namespace ProbeErrorCode {
    const codec: () => Codec<ProbeErrorCode>;
}
export interface ProbeError {
    code: ProbeErrorCode;
    message: string;
    retryAfterMs: number;
}
export declare namespace ProbeError {
    const codec: () => Codec<ProbeError>;
    interface ProbeErrorCodeFieldEvent {
        field: '$.code';
        value: ProbeErrorCode;
    }
    interface ProbeErrorMessageFieldEvent {
        field: '$.message';
        value: string;
    }
    interface ProbeErrorRetryAfterMsFieldEvent {
        field: '$.retryAfterMs';
        value: number;
    }
    function encode(obj: Partial<ProbeError>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ProbeError>): ProbeError;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<ProbeError>): Generator<ProbeErrorCodeFieldEvent | ProbeErrorMessageFieldEvent | ProbeErrorRetryAfterMsFieldEvent>;
}
