import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';
export interface RelayEnvelope {
    termsRequest?: TermsRequest;
    terms?: RelayTerms;
    intent?: RelayIntent;
    relayed?: Relayed;
    error?: RelayError;
}
export declare namespace RelayEnvelope {
    const codec: () => Codec<RelayEnvelope>;
    interface RelayEnvelopeTermsRelayerFieldEvent {
        field: '$.terms.relayer';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayEnvelopeTermsFeeFieldEvent {
        field: '$.terms.fee';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayEnvelopeTermsChainIdFieldEvent {
        field: '$.terms.chainId';
        value: bigint;
    }
    interface RelayEnvelopeTermsMarketFieldEvent {
        field: '$.terms.market';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayEnvelopeIntentSignerFieldEvent {
        field: '$.intent.signer';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayEnvelopeIntentAccountFieldEvent {
        field: '$.intent.account';
        value: bigint;
    }
    interface RelayEnvelopeIntentDataFieldEvent {
        field: '$.intent.data';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayEnvelopeIntentFeeFieldEvent {
        field: '$.intent.fee';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayEnvelopeIntentRelayerFieldEvent {
        field: '$.intent.relayer';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayEnvelopeIntentNonceFieldEvent {
        field: '$.intent.nonce';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayEnvelopeIntentDeadlineFieldEvent {
        field: '$.intent.deadline';
        value: bigint;
    }
    interface RelayEnvelopeIntentSignatureFieldEvent {
        field: '$.intent.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayEnvelopeRelayedTxHashFieldEvent {
        field: '$.relayed.txHash';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayEnvelopeRelayedBlockFieldEvent {
        field: '$.relayed.block';
        value: bigint;
    }
    interface RelayEnvelopeErrorCodeFieldEvent {
        field: '$.error.code';
        value: RelayErrorCode;
    }
    interface RelayEnvelopeErrorMessageFieldEvent {
        field: '$.error.message';
        value: string;
    }
    interface RelayEnvelopeErrorContractErrorFieldEvent {
        field: '$.error.contractError';
        value: string;
    }
    function encode(obj: Partial<RelayEnvelope>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RelayEnvelope>): RelayEnvelope;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RelayEnvelope>): Generator<RelayEnvelopeTermsRelayerFieldEvent | RelayEnvelopeTermsFeeFieldEvent | RelayEnvelopeTermsChainIdFieldEvent | RelayEnvelopeTermsMarketFieldEvent | RelayEnvelopeIntentSignerFieldEvent | RelayEnvelopeIntentAccountFieldEvent | RelayEnvelopeIntentDataFieldEvent | RelayEnvelopeIntentFeeFieldEvent | RelayEnvelopeIntentRelayerFieldEvent | RelayEnvelopeIntentNonceFieldEvent | RelayEnvelopeIntentDeadlineFieldEvent | RelayEnvelopeIntentSignatureFieldEvent | RelayEnvelopeRelayedTxHashFieldEvent | RelayEnvelopeRelayedBlockFieldEvent | RelayEnvelopeErrorCodeFieldEvent | RelayEnvelopeErrorMessageFieldEvent | RelayEnvelopeErrorContractErrorFieldEvent>;
}
export interface TermsRequest {
}
export declare namespace TermsRequest {
    const codec: () => Codec<TermsRequest>;
    function encode(obj: Partial<TermsRequest>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TermsRequest>): TermsRequest;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<TermsRequest>): Generator<{}>;
}
export interface RelayTerms {
    relayer: Uint8Array<ArrayBuffer>;
    fee: Uint8Array<ArrayBuffer>;
    chainId: bigint;
    market: Uint8Array<ArrayBuffer>;
}
export declare namespace RelayTerms {
    const codec: () => Codec<RelayTerms>;
    interface RelayTermsRelayerFieldEvent {
        field: '$.relayer';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayTermsFeeFieldEvent {
        field: '$.fee';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayTermsChainIdFieldEvent {
        field: '$.chainId';
        value: bigint;
    }
    interface RelayTermsMarketFieldEvent {
        field: '$.market';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<RelayTerms>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RelayTerms>): RelayTerms;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RelayTerms>): Generator<RelayTermsRelayerFieldEvent | RelayTermsFeeFieldEvent | RelayTermsChainIdFieldEvent | RelayTermsMarketFieldEvent>;
}
export interface RelayIntent {
    signer: Uint8Array<ArrayBuffer>;
    account: bigint;
    data: Uint8Array<ArrayBuffer>;
    fee: Uint8Array<ArrayBuffer>;
    relayer: Uint8Array<ArrayBuffer>;
    nonce: Uint8Array<ArrayBuffer>;
    deadline: bigint;
    signature: Uint8Array<ArrayBuffer>;
}
export declare namespace RelayIntent {
    const codec: () => Codec<RelayIntent>;
    interface RelayIntentSignerFieldEvent {
        field: '$.signer';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayIntentAccountFieldEvent {
        field: '$.account';
        value: bigint;
    }
    interface RelayIntentDataFieldEvent {
        field: '$.data';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayIntentFeeFieldEvent {
        field: '$.fee';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayIntentRelayerFieldEvent {
        field: '$.relayer';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayIntentNonceFieldEvent {
        field: '$.nonce';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayIntentDeadlineFieldEvent {
        field: '$.deadline';
        value: bigint;
    }
    interface RelayIntentSignatureFieldEvent {
        field: '$.signature';
        value: Uint8Array<ArrayBuffer>;
    }
    function encode(obj: Partial<RelayIntent>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RelayIntent>): RelayIntent;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RelayIntent>): Generator<RelayIntentSignerFieldEvent | RelayIntentAccountFieldEvent | RelayIntentDataFieldEvent | RelayIntentFeeFieldEvent | RelayIntentRelayerFieldEvent | RelayIntentNonceFieldEvent | RelayIntentDeadlineFieldEvent | RelayIntentSignatureFieldEvent>;
}
export interface Relayed {
    txHash: Uint8Array<ArrayBuffer>;
    block: bigint;
}
export declare namespace Relayed {
    const codec: () => Codec<Relayed>;
    interface RelayedTxHashFieldEvent {
        field: '$.txHash';
        value: Uint8Array<ArrayBuffer>;
    }
    interface RelayedBlockFieldEvent {
        field: '$.block';
        value: bigint;
    }
    function encode(obj: Partial<Relayed>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Relayed>): Relayed;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<Relayed>): Generator<RelayedTxHashFieldEvent | RelayedBlockFieldEvent>;
}
export declare enum RelayErrorCode {
    RELAY_ERROR_UNSPECIFIED = "RELAY_ERROR_UNSPECIFIED",
    BAD_FRAME = "BAD_FRAME",
    WRONG_RELAYER = "WRONG_RELAYER",
    FEE_TOO_LOW = "FEE_TOO_LOW",
    EXPIRED = "EXPIRED",
    REFUSED = "REFUSED",
    BUSY = "BUSY",
    CHAIN = "CHAIN",
    INTERNAL = "INTERNAL"
}
export declare namespace RelayErrorCode {
    const codec: () => Codec<RelayErrorCode>;
}
export interface RelayError {
    code: RelayErrorCode;
    message: string;
    contractError: string;
}
export declare namespace RelayError {
    const codec: () => Codec<RelayError>;
    interface RelayErrorCodeFieldEvent {
        field: '$.code';
        value: RelayErrorCode;
    }
    interface RelayErrorMessageFieldEvent {
        field: '$.message';
        value: string;
    }
    interface RelayErrorContractErrorFieldEvent {
        field: '$.contractError';
        value: string;
    }
    function encode(obj: Partial<RelayError>): Uint8Array<ArrayBuffer>;
    function decode(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RelayError>): RelayError;
    function stream(buf: Uint8Array | Uint8ArrayList, opts?: DecodeOptions<RelayError>): Generator<RelayErrorCodeFieldEvent | RelayErrorMessageFieldEvent | RelayErrorContractErrorFieldEvent>;
}
