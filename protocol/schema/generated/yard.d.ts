import type { Codec, DecodeOptions } from 'protons-runtime';
import type { Uint8ArrayList } from 'uint8arraylist';
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
