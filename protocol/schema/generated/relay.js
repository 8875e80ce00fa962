/* eslint-disable require-yield */
import { decodeMessage, encodeMessage, enumeration, message, streamMessage } from 'protons-runtime';
import { alloc as uint8ArrayAlloc } from 'uint8arrays/alloc';
export var RelayEnvelope;
(function (RelayEnvelope) {
    let _codec;
    RelayEnvelope.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                obj = { ...obj };
                if (obj.error != null) {
                    obj.relayed = undefined;
                    obj.intent = undefined;
                    obj.terms = undefined;
                    obj.termsRequest = undefined;
                }
                if (obj.relayed != null) {
                    obj.error = undefined;
                    obj.intent = undefined;
                    obj.terms = undefined;
                    obj.termsRequest = undefined;
                }
                if (obj.intent != null) {
                    obj.error = undefined;
                    obj.relayed = undefined;
                    obj.terms = undefined;
                    obj.termsRequest = undefined;
                }
                if (obj.terms != null) {
                    obj.error = undefined;
                    obj.relayed = undefined;
                    obj.intent = undefined;
                    obj.termsRequest = undefined;
                }
                if (obj.termsRequest != null) {
                    obj.error = undefined;
                    obj.relayed = undefined;
                    obj.intent = undefined;
                    obj.terms = undefined;
                }
                if (obj.termsRequest != null) {
                    w.uint32(10);
                    TermsRequest.codec().encode(obj.termsRequest, w);
                }
                if (obj.terms != null) {
                    w.uint32(18);
                    RelayTerms.codec().encode(obj.terms, w);
                }
                if (obj.intent != null) {
                    w.uint32(26);
                    RelayIntent.codec().encode(obj.intent, w);
                }
                if (obj.relayed != null) {
                    w.uint32(34);
                    Relayed.codec().encode(obj.relayed, w);
                }
                if (obj.error != null) {
                    w.uint32(42);
                    RelayError.codec().encode(obj.error, w);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {};
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.termsRequest = TermsRequest.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.termsRequest
                            });
                            break;
                        }
                        case 2: {
                            obj.terms = RelayTerms.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.terms
                            });
                            break;
                        }
                        case 3: {
                            obj.intent = RelayIntent.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.intent
                            });
                            break;
                        }
                        case 4: {
                            obj.relayed = Relayed.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.relayed
                            });
                            break;
                        }
                        case 5: {
                            obj.error = RelayError.codec().decode(reader, reader.uint32(), {
                                limits: opts.limits?.error
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                if (obj.error != null) {
                    delete obj.relayed;
                    delete obj.intent;
                    delete obj.terms;
                    delete obj.termsRequest;
                }
                if (obj.relayed != null) {
                    delete obj.error;
                    delete obj.intent;
                    delete obj.terms;
                    delete obj.termsRequest;
                }
                if (obj.intent != null) {
                    delete obj.error;
                    delete obj.relayed;
                    delete obj.terms;
                    delete obj.termsRequest;
                }
                if (obj.terms != null) {
                    delete obj.error;
                    delete obj.relayed;
                    delete obj.intent;
                    delete obj.termsRequest;
                }
                if (obj.termsRequest != null) {
                    delete obj.error;
                    delete obj.relayed;
                    delete obj.intent;
                    delete obj.terms;
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield* TermsRequest.codec().stream(reader, reader.uint32(), `${prefix}.termsRequest`, {
                                limits: opts.limits?.termsRequest
                            });
                            break;
                        }
                        case 2: {
                            yield* RelayTerms.codec().stream(reader, reader.uint32(), `${prefix}.terms`, {
                                limits: opts.limits?.terms
                            });
                            break;
                        }
                        case 3: {
                            yield* RelayIntent.codec().stream(reader, reader.uint32(), `${prefix}.intent`, {
                                limits: opts.limits?.intent
                            });
                            break;
                        }
                        case 4: {
                            yield* Relayed.codec().stream(reader, reader.uint32(), `${prefix}.relayed`, {
                                limits: opts.limits?.relayed
                            });
                            break;
                        }
                        case 5: {
                            yield* RelayError.codec().stream(reader, reader.uint32(), `${prefix}.error`, {
                                limits: opts.limits?.error
                            });
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, RelayEnvelope.codec());
    }
    RelayEnvelope.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, RelayEnvelope.codec(), opts);
    }
    RelayEnvelope.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, RelayEnvelope.codec(), opts);
    }
    RelayEnvelope.stream = stream;
})(RelayEnvelope || (RelayEnvelope = {}));
export var TermsRequest;
(function (TermsRequest) {
    let _codec;
    TermsRequest.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {};
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, TermsRequest.codec());
    }
    TermsRequest.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, TermsRequest.codec(), opts);
    }
    TermsRequest.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, TermsRequest.codec(), opts);
    }
    TermsRequest.stream = stream;
})(TermsRequest || (TermsRequest = {}));
export var RelayTerms;
(function (RelayTerms) {
    let _codec;
    RelayTerms.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.relayer != null && obj.relayer.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.relayer);
                }
                if ((obj.fee != null && obj.fee.byteLength > 0)) {
                    w.uint32(18);
                    w.bytes(obj.fee);
                }
                if ((obj.chainId != null && obj.chainId !== 0n)) {
                    w.uint32(24);
                    writeUint64(w, obj.chainId);
                }
                if ((obj.market != null && obj.market.byteLength > 0)) {
                    w.uint32(34);
                    w.bytes(obj.market);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    relayer: uint8ArrayAlloc(0),
                    fee: uint8ArrayAlloc(0),
                    chainId: 0n,
                    market: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.relayer = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.fee = reader.bytes();
                            break;
                        }
                        case 3: {
                            obj.chainId = reader.uint64();
                            break;
                        }
                        case 4: {
                            obj.market = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.relayer`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.fee`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.chainId`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.market`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, RelayTerms.codec());
    }
    RelayTerms.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, RelayTerms.codec(), opts);
    }
    RelayTerms.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, RelayTerms.codec(), opts);
    }
    RelayTerms.stream = stream;
})(RelayTerms || (RelayTerms = {}));
export var RelayIntent;
(function (RelayIntent) {
    let _codec;
    RelayIntent.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.signer != null && obj.signer.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.signer);
                }
                if ((obj.account != null && obj.account !== 0n)) {
                    w.uint32(16);
                    writeUint64(w, obj.account);
                }
                if ((obj.data != null && obj.data.byteLength > 0)) {
                    w.uint32(26);
                    w.bytes(obj.data);
                }
                if ((obj.fee != null && obj.fee.byteLength > 0)) {
                    w.uint32(34);
                    w.bytes(obj.fee);
                }
                if ((obj.relayer != null && obj.relayer.byteLength > 0)) {
                    w.uint32(42);
                    w.bytes(obj.relayer);
                }
                if ((obj.nonce != null && obj.nonce.byteLength > 0)) {
                    w.uint32(50);
                    w.bytes(obj.nonce);
                }
                if ((obj.deadline != null && obj.deadline !== 0n)) {
                    w.uint32(56);
                    writeUint64(w, obj.deadline);
                }
                if ((obj.signature != null && obj.signature.byteLength > 0)) {
                    w.uint32(66);
                    w.bytes(obj.signature);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    signer: uint8ArrayAlloc(0),
                    account: 0n,
                    data: uint8ArrayAlloc(0),
                    fee: uint8ArrayAlloc(0),
                    relayer: uint8ArrayAlloc(0),
                    nonce: uint8ArrayAlloc(0),
                    deadline: 0n,
                    signature: uint8ArrayAlloc(0)
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.signer = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.account = reader.uint64();
                            break;
                        }
                        case 3: {
                            obj.data = reader.bytes();
                            break;
                        }
                        case 4: {
                            obj.fee = reader.bytes();
                            break;
                        }
                        case 5: {
                            obj.relayer = reader.bytes();
                            break;
                        }
                        case 6: {
                            obj.nonce = reader.bytes();
                            break;
                        }
                        case 7: {
                            obj.deadline = reader.uint64();
                            break;
                        }
                        case 8: {
                            obj.signature = reader.bytes();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.signer`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.account`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.data`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 4: {
                            yield {
                                field: `${prefix}.fee`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 5: {
                            yield {
                                field: `${prefix}.relayer`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 6: {
                            yield {
                                field: `${prefix}.nonce`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 7: {
                            yield {
                                field: `${prefix}.deadline`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        case 8: {
                            yield {
                                field: `${prefix}.signature`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, RelayIntent.codec());
    }
    RelayIntent.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, RelayIntent.codec(), opts);
    }
    RelayIntent.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, RelayIntent.codec(), opts);
    }
    RelayIntent.stream = stream;
})(RelayIntent || (RelayIntent = {}));
export var Relayed;
(function (Relayed) {
    let _codec;
    Relayed.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if ((obj.txHash != null && obj.txHash.byteLength > 0)) {
                    w.uint32(10);
                    w.bytes(obj.txHash);
                }
                if ((obj.block != null && obj.block !== 0n)) {
                    w.uint32(16);
                    writeUint64(w, obj.block);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    txHash: uint8ArrayAlloc(0),
                    block: 0n
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.txHash = reader.bytes();
                            break;
                        }
                        case 2: {
                            obj.block = reader.uint64();
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.txHash`,
                                value: reader.bytes()
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.block`,
                                value: reader.uint64()
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, Relayed.codec());
    }
    Relayed.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, Relayed.codec(), opts);
    }
    Relayed.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, Relayed.codec(), opts);
    }
    Relayed.stream = stream;
})(Relayed || (Relayed = {}));
export var RelayErrorCode;
(function (RelayErrorCode) {
    RelayErrorCode["RELAY_ERROR_UNSPECIFIED"] = "RELAY_ERROR_UNSPECIFIED";
    RelayErrorCode["BAD_FRAME"] = "BAD_FRAME";
    RelayErrorCode["WRONG_RELAYER"] = "WRONG_RELAYER";
    RelayErrorCode["FEE_TOO_LOW"] = "FEE_TOO_LOW";
    RelayErrorCode["EXPIRED"] = "EXPIRED";
    RelayErrorCode["REFUSED"] = "REFUSED";
    RelayErrorCode["BUSY"] = "BUSY";
    RelayErrorCode["CHAIN"] = "CHAIN";
    RelayErrorCode["INTERNAL"] = "INTERNAL";
})(RelayErrorCode || (RelayErrorCode = {}));
var __RelayErrorCodeValues;
(function (__RelayErrorCodeValues) {
    __RelayErrorCodeValues[__RelayErrorCodeValues["RELAY_ERROR_UNSPECIFIED"] = 0] = "RELAY_ERROR_UNSPECIFIED";
    __RelayErrorCodeValues[__RelayErrorCodeValues["BAD_FRAME"] = 1] = "BAD_FRAME";
    __RelayErrorCodeValues[__RelayErrorCodeValues["WRONG_RELAYER"] = 2] = "WRONG_RELAYER";
    __RelayErrorCodeValues[__RelayErrorCodeValues["FEE_TOO_LOW"] = 3] = "FEE_TOO_LOW";
    __RelayErrorCodeValues[__RelayErrorCodeValues["EXPIRED"] = 4] = "EXPIRED";
    __RelayErrorCodeValues[__RelayErrorCodeValues["REFUSED"] = 5] = "REFUSED";
    __RelayErrorCodeValues[__RelayErrorCodeValues["BUSY"] = 6] = "BUSY";
    __RelayErrorCodeValues[__RelayErrorCodeValues["CHAIN"] = 7] = "CHAIN";
    __RelayErrorCodeValues[__RelayErrorCodeValues["INTERNAL"] = 8] = "INTERNAL";
})(__RelayErrorCodeValues || (__RelayErrorCodeValues = {}));
(function (RelayErrorCode) {
    RelayErrorCode.codec = () => {
        return enumeration(__RelayErrorCodeValues);
    };
})(RelayErrorCode || (RelayErrorCode = {}));
export var RelayError;
(function (RelayError) {
    let _codec;
    RelayError.codec = () => {
        if (_codec == null) {
            _codec = message((obj, w, opts = {}) => {
                if (opts.lengthDelimited !== false) {
                    w.fork();
                }
                if (obj.code != null && __RelayErrorCodeValues[obj.code] !== 0) {
                    w.uint32(8);
                    RelayErrorCode.codec().encode(obj.code, w);
                }
                if ((obj.message != null && obj.message !== '')) {
                    w.uint32(18);
                    w.string(obj.message);
                }
                if ((obj.contractError != null && obj.contractError !== '')) {
                    w.uint32(26);
                    w.string(obj.contractError);
                }
                if (opts.lengthDelimited !== false) {
                    w.ldelim();
                }
            }, (reader, length, opts = {}) => {
                const obj = {
                    code: RelayErrorCode.RELAY_ERROR_UNSPECIFIED,
                    message: '',
                    contractError: ''
                };
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            obj.code = RelayErrorCode.codec().decode(reader);
                            break;
                        }
                        case 2: {
                            obj.message = readStrictString(reader);
                            break;
                        }
                        case 3: {
                            obj.contractError = readStrictString(reader);
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
                return obj;
            }, function* (reader, length, prefix, opts = {}) {
                const end = length == null ? reader.len : reader.pos + length;
                while (reader.pos < end) {
                    const tag = reader.uint32();
                    switch (tag >>> 3) {
                        case 1: {
                            yield {
                                field: `${prefix}.code`,
                                value: RelayErrorCode.codec().decode(reader)
                            };
                            break;
                        }
                        case 2: {
                            yield {
                                field: `${prefix}.message`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        case 3: {
                            yield {
                                field: `${prefix}.contractError`,
                                value: readStrictString(reader)
                            };
                            break;
                        }
                        default: {
                            reader.skipType(tag & 7);
                            break;
                        }
                    }
                }
            });
        }
        return _codec;
    };
    function encode(obj) {
        return encodeMessage(obj, RelayError.codec());
    }
    RelayError.encode = encode;
    function decode(buf, opts) {
        return decodeMessage(buf, RelayError.codec(), opts);
    }
    RelayError.decode = decode;
    function stream(buf, opts) {
        return streamMessage(buf, RelayError.codec(), opts);
    }
    RelayError.stream = stream;
})(RelayError || (RelayError = {}));
/** Strict UTF-8 for string fields (see scripts/generate.ts). */
const strictUtf8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });
function readStrictString(reader) {
    return strictUtf8.decode(reader.bytes());
}
/** Workaround for protons-runtime's uint64 writer (see scripts/generate.ts). */
function writeUint64(w, v) {
    if (v <= 9007199254740991n)
        w.uint64Number(Number(v));
    else
        w.uint64(v);
}
