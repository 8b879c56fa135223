// Code generated - DO NOT EDIT.
// This file is a generated binding and any manual changes will be lost.

package bindings

import (
	"errors"
	"math/big"
	"strings"

	ethereum "github.com/ethereum/go-ethereum"
	"github.com/ethereum/go-ethereum/accounts/abi"
	"github.com/ethereum/go-ethereum/accounts/abi/bind"
	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
	"github.com/ethereum/go-ethereum/event"
)

// Reference imports to suppress errors if they are not otherwise used.
var (
	_ = errors.New
	_ = big.NewInt
	_ = strings.NewReader
	_ = ethereum.NotFound
	_ = bind.Bind
	_ = common.Big1
	_ = types.BloomLookup
	_ = event.NewSubscription
	_ = abi.ConvertType
)

// ShareAnchorSig is an auto generated low-level Go binding around an user-defined struct.
type ShareAnchorSig struct {
	Index *big.Int
	V     uint8
	R     [32]byte
	S     [32]byte
}

// ShareAnchorMetaData contains all meta data concerning the ShareAnchor contract.
var ShareAnchorMetaData = &bind.MetaData{
	ABI: "[{\"inputs\":[{\"internalType\":\"string\",\"name\":\"chainId\",\"type\":\"string\"},{\"internalType\":\"address[]\",\"name\":\"initialSigners\",\"type\":\"address[]\"},{\"internalType\":\"uint64[]\",\"name\":\"initialPowers\",\"type\":\"uint64[]\"}],\"stateMutability\":\"nonpayable\",\"type\":\"constructor\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"index\",\"type\":\"uint256\"}],\"name\":\"BadSignature\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"string\",\"name\":\"why\",\"type\":\"string\"}],\"name\":\"BadValset\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"signed\",\"type\":\"uint256\"},{\"internalType\":\"uint256\",\"name\":\"total\",\"type\":\"uint256\"}],\"name\":\"NotEnoughPower\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"index\",\"type\":\"uint256\"}],\"name\":\"SignersNotAscending\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"height\",\"type\":\"uint64\"},{\"internalType\":\"uint64\",\"name\":\"lastHeight\",\"type\":\"uint64\"}],\"name\":\"StaleCheckpoint\",\"type\":\"error\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"given\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"committed\",\"type\":\"bytes32\"}],\"name\":\"ValsetMismatch\",\"type\":\"error\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"uint64\",\"name\":\"height\",\"type\":\"uint64\"},{\"indexed\":false,\"internalType\":\"bytes32\",\"name\":\"modelsRoot\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"bytes32\",\"name\":\"valset\",\"type\":\"bytes32\"}],\"name\":\"CheckpointSubmitted\",\"type\":\"event\"},{\"anonymous\":false,\"inputs\":[{\"indexed\":true,\"internalType\":\"bytes32\",\"name\":\"valset\",\"type\":\"bytes32\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"totalPower\",\"type\":\"uint256\"},{\"indexed\":false,\"internalType\":\"uint256\",\"name\":\"size\",\"type\":\"uint256\"}],\"name\":\"ValsetUpdated\",\"type\":\"event\"},{\"inputs\":[],\"name\":\"chainIdHash\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"height\",\"type\":\"uint64\"},{\"internalType\":\"bytes32\",\"name\":\"root\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"nextValset\",\"type\":\"bytes32\"}],\"name\":\"checkpointHash\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"currentValset\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"lastHeight\",\"outputs\":[{\"internalType\":\"uint64\",\"name\":\"\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"modelId\",\"type\":\"uint64\"},{\"internalType\":\"bytes\",\"name\":\"holder\",\"type\":\"bytes\"},{\"internalType\":\"uint256\",\"name\":\"balance\",\"type\":\"uint256\"}],\"name\":\"leaf\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"pure\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"modelId\",\"type\":\"uint64\"},{\"internalType\":\"bytes32\",\"name\":\"root\",\"type\":\"bytes32\"}],\"name\":\"modelLeaf\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"pure\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"modelsRoot\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"bytes32\",\"name\":\"a\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"b\",\"type\":\"bytes32\"}],\"name\":\"node\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"pure\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"name\":\"powers\",\"outputs\":[{\"internalType\":\"uint64\",\"name\":\"\",\"type\":\"uint64\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"name\":\"signers\",\"outputs\":[{\"internalType\":\"address\",\"name\":\"\",\"type\":\"address\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"height\",\"type\":\"uint64\"},{\"internalType\":\"bytes32\",\"name\":\"root\",\"type\":\"bytes32\"},{\"internalType\":\"address[]\",\"name\":\"nextSigners\",\"type\":\"address[]\"},{\"internalType\":\"uint64[]\",\"name\":\"nextPowers\",\"type\":\"uint64[]\"},{\"components\":[{\"internalType\":\"uint256\",\"name\":\"index\",\"type\":\"uint256\"},{\"internalType\":\"uint8\",\"name\":\"v\",\"type\":\"uint8\"},{\"internalType\":\"bytes32\",\"name\":\"r\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32\",\"name\":\"s\",\"type\":\"bytes32\"}],\"internalType\":\"structShareAnchor.Sig[]\",\"name\":\"sigs\",\"type\":\"tuple[]\"}],\"name\":\"submitCheckpoint\",\"outputs\":[],\"stateMutability\":\"nonpayable\",\"type\":\"function\"},{\"inputs\":[],\"name\":\"totalPower\",\"outputs\":[{\"internalType\":\"uint256\",\"name\":\"\",\"type\":\"uint256\"}],\"stateMutability\":\"view\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"address[]\",\"name\":\"s\",\"type\":\"address[]\"},{\"internalType\":\"uint64[]\",\"name\":\"p\",\"type\":\"uint64[]\"}],\"name\":\"valsetHash\",\"outputs\":[{\"internalType\":\"bytes32\",\"name\":\"\",\"type\":\"bytes32\"}],\"stateMutability\":\"pure\",\"type\":\"function\"},{\"inputs\":[{\"internalType\":\"uint64\",\"name\":\"modelId\",\"type\":\"uint64\"},{\"internalType\":\"bytes\",\"name\":\"holder\",\"type\":\"bytes\"},{\"internalType\":\"uint256\",\"name\":\"balance\",\"type\":\"uint256\"},{\"internalType\":\"bytes32[]\",\"name\":\"holderProof\",\"type\":\"bytes32[]\"},{\"internalType\":\"bytes32\",\"name\":\"modelRoot\",\"type\":\"bytes32\"},{\"internalType\":\"bytes32[]\",\"name\":\"modelProof\",\"type\":\"bytes32[]\"}],\"name\":\"verifyShares\",\"outputs\":[{\"internalType\":\"bool\",\"name\":\"\",\"type\":\"bool\"}],\"stateMutability\":\"view\",\"type\":\"function\"}]",
	Bin: "0x60a060405234801561000f575f5ffd5b50604051611acc380380611acc83398101604081905261002e91610626565b82516020840120608052610042828261004a565b505050610798565b8151158061005a57508051825114155b156100d357604051634a923a3960e01b815260206004820152603860248201527f7369676e65727320616e6420706f77657273206d757374206265206e6f6e2d6560448201527f6d70747920616e64206f6620657175616c206c656e677468000000000000000060648201526084015b60405180910390fd5b5f805b8351811015610295575f6001600160a01b03168482815181106100fb576100fb61070b565b60200260200101516001600160a01b03160361014857604051634a923a3960e01b815260206004820152600b60248201526a3d32b9379039b4b3b732b960a91b60448201526064016100ca565b5f811180156101a557508361015e600183610733565b8151811061016e5761016e61070b565b60200260200101516001600160a01b03168482815181106101915761019161070b565b60200260200101516001600160a01b031611155b156101fe57604051634a923a3960e01b815260206004820152602260248201527f7369676e657273206d757374206265207374726963746c7920617363656e64696044820152616e6760f01b60648201526084016100ca565b8281815181106102105761021061070b565b60200260200101516001600160401b03165f0361025d57604051634a923a3960e01b815260206004820152600a6024820152693d32b937903837bbb2b960b11b60448201526064016100ca565b82818151811061026f5761026f61070b565b60200260200101516001600160401b03168261028b9190610746565b91506001016100d6565b506102a05f8061047f565b6102ab60015f61049d565b5f5b835181101561036e575f8482815181106102c9576102c961070b565b6020908102919091018101518254600180820185555f9485529290932090920180546001600160a01b0319166001600160a01b0390931692909217909155835184908390811061031b5761031b61070b565b6020908102919091018101518254600181810185555f94855292909320600484040180546001600160401b0392831660086003909616959095026101000a948502929094021990931617909155016102ad565b50600281905561037e83836103c4565b600381905583516040805184815260208101929092527fb7ca5e46e360950244488bf096bf742a1f63183cf1ee5b3b0c53045b6247bf5b910160405180910390a2505050565b8151604051600360f81b602082015260e09190911b6001600160e01b03191660218201525f90819060250160408051601f1981840301815291905290505f5b845181101561046d578185828151811061041f5761041f61070b565b60200260200101518583815181106104395761043961070b565b602002602001015160405160200161045393929190610759565b60408051601f198184030181529190529150600101610403565b50805160209091012090505b92915050565b5080545f8255905f5260205f209081019061049a91906104bb565b50565b5080545f825560030160049004905f5260205f209081019061049a91905b5b808211156104cf575f81556001016104bc565b5090565b634e487b7160e01b5f52604160045260245ffd5b604051601f8201601f191681016001600160401b038111828210171561050f5761050f6104d3565b604052919050565b5f6001600160401b0382111561052f5761052f6104d3565b5060051b60200190565b5f82601f830112610548575f5ffd5b815161055b61055682610517565b6104e7565b8082825260208201915060208360051b86010192508583111561057c575f5ffd5b602085015b838110156105ad5780516001600160a01b038116811461059f575f5ffd5b835260209283019201610581565b5095945050505050565b5f82601f8301126105c6575f5ffd5b81516105d461055682610517565b8082825260208201915060208360051b8601019250858311156105f5575f5ffd5b602085015b838110156105ad5780516001600160401b0381168114610618575f5ffd5b8352602092830192016105fa565b5f5f5f60608486031215610638575f5ffd5b83516001600160401b0381111561064d575f5ffd5b8401601f8101861361065d575f5ffd5b80516001600160401b03811115610676576106766104d3565b610689601f8201601f19166020016104e7565b81815287602083850101111561069d575f5ffd5b8160208401602083015e5f60208383010152809550505050602084015160018060401b038111156106cc575f5ffd5b6106d886828701610539565b604086015190935090506001600160401b038111156106f5575f5ffd5b610701868287016105b7565b9150509250925092565b634e487b7160e01b5f52603260045260245ffd5b634e487b7160e01b5f52601160045260245ffd5b818103818111156104795761047961071f565b808201808211156104795761047961071f565b5f84518060208701845e60609490941b6001600160601b0319169190930190815260c09190911b6001600160c01b0319166014820152601c0192915050565b6080516113156107b75f395f81816101d101526103cb01526113155ff3fe608060405234801561000f575f5ffd5b50600436106100e5575f3560e01c8063770c7a3d11610088578063cb9d51c111610063578063cb9d51c1146101fc578063d5b2b25a1461020f578063db3ad22c14610222578063ebde6e1f1461022b575f5ffd5b8063770c7a3d146101b75780639289acac146101cc578063c3f9b677146101f3575f5ffd5b80633f625672116100c35780633f6256721461016757806340c1bfab1461017e578063491e5e88146101915780636a0615fd146101a4575f5ffd5b80631b936a81146100e95780632079fb9a1461011157806325159aa91461013c575b5f5ffd5b6100fc6100f7366004610dcb565b61023e565b60405190151581526020015b60405180910390f35b61012461011f366004610e8b565b6102a0565b6040516001600160a01b039091168152602001610108565b60045461014f906001600160401b031681565b6040516001600160401b039091168152602001610108565b61017060035481565b604051908152602001610108565b61014f61018c366004610e8b565b6102c7565b61017061019f366004610f79565b610301565b6101706101b2366004611047565b6103bc565b6101ca6101c5366004611077565b610435565b005b6101707f000000000000000000000000000000000000000000000000000000000000000081565b61017060055481565b61017061020a36600461115b565b610633565b61017061021d366004611183565b61067f565b61017060025481565b6101706102393660046111a3565b6106ea565b5f87158061024c575060ff88115b1561025857505f610293565b8361026f6102688c8c8c8c6106ea565b8888610727565b148015610290575060055461028e6102878c87610633565b8585610727565b145b90505b9998505050505050505050565b5f81815481106102ae575f80fd5b5f918252602090912001546001600160a01b0316905081565b600181815481106102d6575f80fd5b905f5260205f209060049182820401919006600802915054906101000a90046001600160401b031681565b8151604051600360f81b602082015260e09190911b6001600160e01b03191660218201525f90819060250160408051601f1981840301815291905290505f5b84518110156103aa578185828151811061035c5761035c6111f8565b6020026020010151858381518110610376576103766111f8565b60200260200101516040516020016103909392919061120c565b60408051601f198184030181529190529150600101610340565b50805160209091012090505b92915050565b604051600160fa1b60208201527f000000000000000000000000000000000000000000000000000000000000000060218201526001600160c01b031960c085901b16604182015260498101839052606981018290525f906089016040516020818303038152906040528051906020012090509392505050565b6004546001600160401b0390811690891611610482576004805460405163393b308560e21b81526001600160401b03808c1693820193909352911660248201526044015b60405180910390fd5b5f6104ee8787808060200260200160405190810160405280939291908181526020018383602002808284375f9201919091525050604080516020808b0282810182019093528a82529093508a9250899182918501908490808284375f9201919091525061030192505050565b90505f6105066104ff8b8b856103bc565b8585610767565b905060025460026105179190611264565b610522826003611264565b1161054e5760025460405163140c238f60e11b8152610479918391600401918252602082015260400190565b6004805467ffffffffffffffff19166001600160401b038c16179055600589905560035482146105e3576105e38888808060200260200160405190810160405280939291908181526020018383602002808284375f9201919091525050604080516020808c0282810182019093528b82529093508b92508a9182918501908490808284375f9201919091525061096392505050565b604080518a8152602081018490526001600160401b038c16917ff5a5393c05c9c1046056de3222a96a0f9dcea3ee9f46b189d1f5a6f6df07dd28910160405180910390a250505050505050505050565b604051600160f91b60208201526001600160c01b031960c084901b166021820152602981018290525f906049015b60405160208183030381529060405280519060200120905092915050565b5f8183106106c057604051600160f81b60208201526021810183905260418101849052606101604051602081830303815290604052805190602001206106e3565b604051600160f81b60208201526021810184905260418101839052606101610661565b9392505050565b6040515f906107079082908790869088908290889060200161127b565b604051602081830303815290604052805190602001209050949350505050565b5f805b8281101561075e5761075485858584818110610748576107486111f8565b9050602002013561067f565b945060010161072a565b50929392505050565b5f805b8281101561095b5736848483818110610785576107856111f8565b90506080020190505f821180156107c2575084846107a46001856112c2565b8181106107b3576107b36111f8565b60800291909101358235111590505b156107e35760405163590a84f760e01b815260048101839052602401610479565b5f54813510158061081757507f7fffffffffffffffffffffffffffffff5d576e7357a4501ddfe92f46681b20a06060820135115b156108385760405163a1c9731960e01b815260048101839052602401610479565b5f60018761084c60408501602086016112d5565b604080515f8152602081018083529390935260ff90911682820152840135606080830191909152840135608082015260a0016020604051602081039080840390855afa15801561089e573d5f5f3e3d5ffd5b5050604051601f1901519150506001600160a01b03811615806108eb57505f805483359081106108d0576108d06111f8565b5f918252602090912001546001600160a01b03828116911614155b1561090c5760405163a1c9731960e01b815260048101849052602401610479565b600180548335908110610921576109216111f8565b5f918252602090912060048204015461094f916003166008026101000a90046001600160401b0316856112f5565b9350505060010161076a565b509392505050565b8151158061097357508051825114155b156109e757604051634a923a3960e01b815260206004820152603860248201527f7369676e65727320616e6420706f77657273206d757374206265206e6f6e2d6560448201527f6d70747920616e64206f6620657175616c206c656e67746800000000000000006064820152608401610479565b5f805b8351811015610ba9575f6001600160a01b0316848281518110610a0f57610a0f6111f8565b60200260200101516001600160a01b031603610a5c57604051634a923a3960e01b815260206004820152600b60248201526a3d32b9379039b4b3b732b960a91b6044820152606401610479565b5f81118015610ab9575083610a726001836112c2565b81518110610a8257610a826111f8565b60200260200101516001600160a01b0316848281518110610aa557610aa56111f8565b60200260200101516001600160a01b031611155b15610b1257604051634a923a3960e01b815260206004820152602260248201527f7369676e657273206d757374206265207374726963746c7920617363656e64696044820152616e6760f01b6064820152608401610479565b828181518110610b2457610b246111f8565b60200260200101516001600160401b03165f03610b7157604051634a923a3960e01b815260206004820152600a6024820152693d32b937903837bbb2b960b11b6044820152606401610479565b828181518110610b8357610b836111f8565b60200260200101516001600160401b031682610b9f91906112f5565b91506001016109ea565b50610bb45f80610cd8565b610bbf60015f610cf6565b5f5b8351811015610c82575f848281518110610bdd57610bdd6111f8565b6020908102919091018101518254600180820185555f9485529290932090920180546001600160a01b0319166001600160a01b03909316929092179091558351849083908110610c2f57610c2f6111f8565b6020908102919091018101518254600181810185555f94855292909320600484040180546001600160401b0392831660086003909616959095026101000a94850292909402199093161790915501610bc1565b506002819055610c928383610301565b600381905583516040805184815260208101929092527fb7ca5e46e360950244488bf096bf742a1f63183cf1ee5b3b0c53045b6247bf5b910160405180910390a2505050565b5080545f8255905f5260205f2090810190610cf39190610d14565b50565b5080545f825560030160049004905f5260205f2090810190610cf391905b5b80821115610d28575f8155600101610d15565b5090565b80356001600160401b0381168114610d42575f5ffd5b919050565b5f5f83601f840112610d57575f5ffd5b5081356001600160401b03811115610d6d575f5ffd5b602083019150836020828501011115610d84575f5ffd5b9250929050565b5f5f83601f840112610d9b575f5ffd5b5081356001600160401b03811115610db1575f5ffd5b6020830191508360208260051b8501011115610d84575f5ffd5b5f5f5f5f5f5f5f5f5f60c08a8c031215610de3575f5ffd5b610dec8a610d2c565b985060208a01356001600160401b03811115610e06575f5ffd5b610e128c828d01610d47565b90995097505060408a0135955060608a01356001600160401b03811115610e37575f5ffd5b610e438c828d01610d8b565b90965094505060808a0135925060a08a01356001600160401b03811115610e68575f5ffd5b610e748c828d01610d8b565b915080935050809150509295985092959850929598565b5f60208284031215610e9b575f5ffd5b5035919050565b634e487b7160e01b5f52604160045260245ffd5b604051601f8201601f191681016001600160401b0381118282101715610ede57610ede610ea2565b604052919050565b5f6001600160401b03821115610efe57610efe610ea2565b5060051b60200190565b5f82601f830112610f17575f5ffd5b8135610f2a610f2582610ee6565b610eb6565b8082825260208201915060208360051b860101925085831115610f4b575f5ffd5b602085015b83811015610f6f57610f6181610d2c565b835260209283019201610f50565b5095945050505050565b5f5f60408385031215610f8a575f5ffd5b82356001600160401b03811115610f9f575f5ffd5b8301601f81018513610faf575f5ffd5b8035610fbd610f2582610ee6565b8082825260208201915060208360051b850101925087831115610fde575f5ffd5b6020840193505b828410156110145783356001600160a01b0381168114611003575f5ffd5b825260209384019390910190610fe5565b945050505060208301356001600160401b03811115611031575f5ffd5b61103d85828601610f08565b9150509250929050565b5f5f5f60608486031215611059575f5ffd5b61106284610d2c565b95602085013595506040909401359392505050565b5f5f5f5f5f5f5f5f60a0898b03121561108e575f5ffd5b61109789610d2c565b97506020890135965060408901356001600160401b038111156110b8575f5ffd5b6110c48b828c01610d8b565b90975095505060608901356001600160401b038111156110e2575f5ffd5b6110ee8b828c01610d8b565b90955093505060808901356001600160401b0381111561110c575f5ffd5b8901601f81018b1361111c575f5ffd5b80356001600160401b03811115611131575f5ffd5b8b60208260071b8401011115611145575f5ffd5b989b979a50959850939692959194602001935050565b5f5f6040838503121561116c575f5ffd5b61117583610d2c565b946020939093013593505050565b5f5f60408385031215611194575f5ffd5b50508035926020909101359150565b5f5f5f5f606085870312156111b6575f5ffd5b6111bf85610d2c565b935060208501356001600160401b038111156111d9575f5ffd5b6111e587828801610d47565b9598909750949560400135949350505050565b634e487b7160e01b5f52603260045260245ffd5b5f84518060208701845e60609490941b6bffffffffffffffffffffffff19169190930190815260c09190911b6001600160c01b0319166014820152601c0192915050565b634e487b7160e01b5f52601160045260245ffd5b80820281158282048414176103b6576103b6611250565b6001600160f81b0319878116825260c087901b6001600160c01b031916600183015260f886901b1660098201528284600a830137600a920191820152602a01949350505050565b818103818111156103b6576103b6611250565b5f602082840312156112e5575f5ffd5b813560ff811681146106e3575f5ffd5b808201808211156103b6576103b661125056fea164736f6c634300081c000a",
}

// ShareAnchorABI is the input ABI used to generate the binding from.
// Deprecated: Use ShareAnchorMetaData.ABI instead.
var ShareAnchorABI = ShareAnchorMetaData.ABI

// ShareAnchorBin is the compiled bytecode used for deploying new contracts.
// Deprecated: Use ShareAnchorMetaData.Bin instead.
var ShareAnchorBin = ShareAnchorMetaData.Bin

// DeployShareAnchor deploys a new Ethereum contract, binding an instance of ShareAnchor to it.
func DeployShareAnchor(auth *bind.TransactOpts, backend bind.ContractBackend, chainId string, initialSigners []common.Address, initialPowers []uint64) (common.Address, *types.Transaction, *ShareAnchor, error) {
	parsed, err := ShareAnchorMetaData.GetAbi()
	if err != nil {
		return common.Address{}, nil, nil, err
	}
	if parsed == nil {
		return common.Address{}, nil, nil, errors.New("GetABI returned nil")
	}

	address, tx, contract, err := bind.DeployContract(auth, *parsed, common.FromHex(ShareAnchorBin), backend, chainId, initialSigners, initialPowers)
	if err != nil {
		return common.Address{}, nil, nil, err
	}
	return address, tx, &ShareAnchor{ShareAnchorCaller: ShareAnchorCaller{contract: contract}, ShareAnchorTransactor: ShareAnchorTransactor{contract: contract}, ShareAnchorFilterer: ShareAnchorFilterer{contract: contract}}, nil
}

// ShareAnchor is an auto generated Go binding around an Ethereum contract.
type ShareAnchor struct {
	ShareAnchorCaller     // Read-only binding to the contract
	ShareAnchorTransactor // Write-only binding to the contract
	ShareAnchorFilterer   // Log filterer for contract events
}

// ShareAnchorCaller is an auto generated read-only Go binding around an Ethereum contract.
type ShareAnchorCaller struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// ShareAnchorTransactor is an auto generated write-only Go binding around an Ethereum contract.
type ShareAnchorTransactor struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// ShareAnchorFilterer is an auto generated log filtering Go binding around an Ethereum contract events.
type ShareAnchorFilterer struct {
	contract *bind.BoundContract // Generic contract wrapper for the low level calls
}

// ShareAnchorSession is an auto generated Go binding around an Ethereum contract,
// with pre-set call and transact options.
type ShareAnchorSession struct {
	Contract     *ShareAnchor      // Generic contract binding to set the session for
	CallOpts     bind.CallOpts     // Call options to use throughout this session
	TransactOpts bind.TransactOpts // Transaction auth options to use throughout this session
}

// ShareAnchorCallerSession is an auto generated read-only Go binding around an Ethereum contract,
// with pre-set call options.
type ShareAnchorCallerSession struct {
	Contract *ShareAnchorCaller // Generic contract caller binding to set the session for
	CallOpts bind.CallOpts      // Call options to use throughout this session
}

// ShareAnchorTransactorSession is an auto generated write-only Go binding around an Ethereum contract,
// with pre-set transact options.
type ShareAnchorTransactorSession struct {
	Contract     *ShareAnchorTransactor // Generic contract transactor binding to set the session for
	TransactOpts bind.TransactOpts      // Transaction auth options to use throughout this session
}

// ShareAnchorRaw is an auto generated low-level Go binding around an Ethereum contract.
type ShareAnchorRaw struct {
	Contract *ShareAnchor // Generic contract binding to access the raw methods on
}

// ShareAnchorCallerRaw is an auto generated low-level read-only Go binding around an Ethereum contract.
type ShareAnchorCallerRaw struct {
	Contract *ShareAnchorCaller // Generic read-only contract binding to access the raw methods on
}

// ShareAnchorTransactorRaw is an auto generated low-level write-only Go binding around an Ethereum contract.
type ShareAnchorTransactorRaw struct {
	Contract *ShareAnchorTransactor // Generic write-only contract binding to access the raw methods on
}

// NewShareAnchor creates a new instance of ShareAnchor, bound to a specific deployed contract.
func NewShareAnchor(address common.Address, backend bind.ContractBackend) (*ShareAnchor, error) {
	contract, err := bindShareAnchor(address, backend, backend, backend)
	if err != nil {
		return nil, err
	}
	return &ShareAnchor{ShareAnchorCaller: ShareAnchorCaller{contract: contract}, ShareAnchorTransactor: ShareAnchorTransactor{contract: contract}, ShareAnchorFilterer: ShareAnchorFilterer{contract: contract}}, nil
}

// NewShareAnchorCaller creates a new read-only instance of ShareAnchor, bound to a specific deployed contract.
func NewShareAnchorCaller(address common.Address, caller bind.ContractCaller) (*ShareAnchorCaller, error) {
	contract, err := bindShareAnchor(address, caller, nil, nil)
	if err != nil {
		return nil, err
	}
	return &ShareAnchorCaller{contract: contract}, nil
}

// NewShareAnchorTransactor creates a new write-only instance of ShareAnchor, bound to a specific deployed contract.
func NewShareAnchorTransactor(address common.Address, transactor bind.ContractTransactor) (*ShareAnchorTransactor, error) {
	contract, err := bindShareAnchor(address, nil, transactor, nil)
	if err != nil {
		return nil, err
	}
	return &ShareAnchorTransactor{contract: contract}, nil
}

// NewShareAnchorFilterer creates a new log filterer instance of ShareAnchor, bound to a specific deployed contract.
func NewShareAnchorFilterer(address common.Address, filterer bind.ContractFilterer) (*ShareAnchorFilterer, error) {
	contract, err := bindShareAnchor(address, nil, nil, filterer)
	if err != nil {
		return nil, err
	}
	return &ShareAnchorFilterer{contract: contract}, nil
}

// bindShareAnchor binds a generic wrapper to an already deployed contract.
func bindShareAnchor(address common.Address, caller bind.ContractCaller, transactor bind.ContractTransactor, filterer bind.ContractFilterer) (*bind.BoundContract, error) {
	parsed, err := ShareAnchorMetaData.GetAbi()
	if err != nil {
		return nil, err
	}
	return bind.NewBoundContract(address, *parsed, caller, transactor, filterer), nil
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_ShareAnchor *ShareAnchorRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _ShareAnchor.Contract.ShareAnchorCaller.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_ShareAnchor *ShareAnchorRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _ShareAnchor.Contract.ShareAnchorTransactor.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_ShareAnchor *ShareAnchorRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _ShareAnchor.Contract.ShareAnchorTransactor.contract.Transact(opts, method, params...)
}

// Call invokes the (constant) contract method with params as input values and
// sets the output to result. The result type might be a single field for simple
// returns, a slice of interfaces for anonymous returns and a struct for named
// returns.
func (_ShareAnchor *ShareAnchorCallerRaw) Call(opts *bind.CallOpts, result *[]interface{}, method string, params ...interface{}) error {
	return _ShareAnchor.Contract.contract.Call(opts, result, method, params...)
}

// Transfer initiates a plain transaction to move funds to the contract, calling
// its default method if one is available.
func (_ShareAnchor *ShareAnchorTransactorRaw) Transfer(opts *bind.TransactOpts) (*types.Transaction, error) {
	return _ShareAnchor.Contract.contract.Transfer(opts)
}

// Transact invokes the (paid) contract method with params as input values.
func (_ShareAnchor *ShareAnchorTransactorRaw) Transact(opts *bind.TransactOpts, method string, params ...interface{}) (*types.Transaction, error) {
	return _ShareAnchor.Contract.contract.Transact(opts, method, params...)
}

// ChainIdHash is a free data retrieval call binding the contract method 0x9289acac.
//
// Solidity: function chainIdHash() view returns(bytes32)
func (_ShareAnchor *ShareAnchorCaller) ChainIdHash(opts *bind.CallOpts) ([32]byte, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "chainIdHash")

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// ChainIdHash is a free data retrieval call binding the contract method 0x9289acac.
//
// Solidity: function chainIdHash() view returns(bytes32)
func (_ShareAnchor *ShareAnchorSession) ChainIdHash() ([32]byte, error) {
	return _ShareAnchor.Contract.ChainIdHash(&_ShareAnchor.CallOpts)
}

// ChainIdHash is a free data retrieval call binding the contract method 0x9289acac.
//
// Solidity: function chainIdHash() view returns(bytes32)
func (_ShareAnchor *ShareAnchorCallerSession) ChainIdHash() ([32]byte, error) {
	return _ShareAnchor.Contract.ChainIdHash(&_ShareAnchor.CallOpts)
}

// CheckpointHash is a free data retrieval call binding the contract method 0x6a0615fd.
//
// Solidity: function checkpointHash(uint64 height, bytes32 root, bytes32 nextValset) view returns(bytes32)
func (_ShareAnchor *ShareAnchorCaller) CheckpointHash(opts *bind.CallOpts, height uint64, root [32]byte, nextValset [32]byte) ([32]byte, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "checkpointHash", height, root, nextValset)

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// CheckpointHash is a free data retrieval call binding the contract method 0x6a0615fd.
//
// Solidity: function checkpointHash(uint64 height, bytes32 root, bytes32 nextValset) view returns(bytes32)
func (_ShareAnchor *ShareAnchorSession) CheckpointHash(height uint64, root [32]byte, nextValset [32]byte) ([32]byte, error) {
	return _ShareAnchor.Contract.CheckpointHash(&_ShareAnchor.CallOpts, height, root, nextValset)
}

// CheckpointHash is a free data retrieval call binding the contract method 0x6a0615fd.
//
// Solidity: function checkpointHash(uint64 height, bytes32 root, bytes32 nextValset) view returns(bytes32)
func (_ShareAnchor *ShareAnchorCallerSession) CheckpointHash(height uint64, root [32]byte, nextValset [32]byte) ([32]byte, error) {
	return _ShareAnchor.Contract.CheckpointHash(&_ShareAnchor.CallOpts, height, root, nextValset)
}

// CurrentValset is a free data retrieval call binding the contract method 0x3f625672.
//
// Solidity: function currentValset() view returns(bytes32)
func (_ShareAnchor *ShareAnchorCaller) CurrentValset(opts *bind.CallOpts) ([32]byte, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "currentValset")

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// CurrentValset is a free data retrieval call binding the contract method 0x3f625672.
//
// Solidity: function currentValset() view returns(bytes32)
func (_ShareAnchor *ShareAnchorSession) CurrentValset() ([32]byte, error) {
	return _ShareAnchor.Contract.CurrentValset(&_ShareAnchor.CallOpts)
}

// CurrentValset is a free data retrieval call binding the contract method 0x3f625672.
//
// Solidity: function currentValset() view returns(bytes32)
func (_ShareAnchor *ShareAnchorCallerSession) CurrentValset() ([32]byte, error) {
	return _ShareAnchor.Contract.CurrentValset(&_ShareAnchor.CallOpts)
}

// LastHeight is a free data retrieval call binding the contract method 0x25159aa9.
//
// Solidity: function lastHeight() view returns(uint64)
func (_ShareAnchor *ShareAnchorCaller) LastHeight(opts *bind.CallOpts) (uint64, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "lastHeight")

	if err != nil {
		return *new(uint64), err
	}

	out0 := *abi.ConvertType(out[0], new(uint64)).(*uint64)

	return out0, err

}

// LastHeight is a free data retrieval call binding the contract method 0x25159aa9.
//
// Solidity: function lastHeight() view returns(uint64)
func (_ShareAnchor *ShareAnchorSession) LastHeight() (uint64, error) {
	return _ShareAnchor.Contract.LastHeight(&_ShareAnchor.CallOpts)
}

// LastHeight is a free data retrieval call binding the contract method 0x25159aa9.
//
// Solidity: function lastHeight() view returns(uint64)
func (_ShareAnchor *ShareAnchorCallerSession) LastHeight() (uint64, error) {
	return _ShareAnchor.Contract.LastHeight(&_ShareAnchor.CallOpts)
}

// Leaf is a free data retrieval call binding the contract method 0xebde6e1f.
//
// Solidity: function leaf(uint64 modelId, bytes holder, uint256 balance) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorCaller) Leaf(opts *bind.CallOpts, modelId uint64, holder []byte, balance *big.Int) ([32]byte, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "leaf", modelId, holder, balance)

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// Leaf is a free data retrieval call binding the contract method 0xebde6e1f.
//
// Solidity: function leaf(uint64 modelId, bytes holder, uint256 balance) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorSession) Leaf(modelId uint64, holder []byte, balance *big.Int) ([32]byte, error) {
	return _ShareAnchor.Contract.Leaf(&_ShareAnchor.CallOpts, modelId, holder, balance)
}

// Leaf is a free data retrieval call binding the contract method 0xebde6e1f.
//
// Solidity: function leaf(uint64 modelId, bytes holder, uint256 balance) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorCallerSession) Leaf(modelId uint64, holder []byte, balance *big.Int) ([32]byte, error) {
	return _ShareAnchor.Contract.Leaf(&_ShareAnchor.CallOpts, modelId, holder, balance)
}

// ModelLeaf is a free data retrieval call binding the contract method 0xcb9d51c1.
//
// Solidity: function modelLeaf(uint64 modelId, bytes32 root) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorCaller) ModelLeaf(opts *bind.CallOpts, modelId uint64, root [32]byte) ([32]byte, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "modelLeaf", modelId, root)

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// ModelLeaf is a free data retrieval call binding the contract method 0xcb9d51c1.
//
// Solidity: function modelLeaf(uint64 modelId, bytes32 root) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorSession) ModelLeaf(modelId uint64, root [32]byte) ([32]byte, error) {
	return _ShareAnchor.Contract.ModelLeaf(&_ShareAnchor.CallOpts, modelId, root)
}

// ModelLeaf is a free data retrieval call binding the contract method 0xcb9d51c1.
//
// Solidity: function modelLeaf(uint64 modelId, bytes32 root) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorCallerSession) ModelLeaf(modelId uint64, root [32]byte) ([32]byte, error) {
	return _ShareAnchor.Contract.ModelLeaf(&_ShareAnchor.CallOpts, modelId, root)
}

// ModelsRoot is a free data retrieval call binding the contract method 0xc3f9b677.
//
// Solidity: function modelsRoot() view returns(bytes32)
func (_ShareAnchor *ShareAnchorCaller) ModelsRoot(opts *bind.CallOpts) ([32]byte, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "modelsRoot")

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// ModelsRoot is a free data retrieval call binding the contract method 0xc3f9b677.
//
// Solidity: function modelsRoot() view returns(bytes32)
func (_ShareAnchor *ShareAnchorSession) ModelsRoot() ([32]byte, error) {
	return _ShareAnchor.Contract.ModelsRoot(&_ShareAnchor.CallOpts)
}

// ModelsRoot is a free data retrieval call binding the contract method 0xc3f9b677.
//
// Solidity: function modelsRoot() view returns(bytes32)
func (_ShareAnchor *ShareAnchorCallerSession) ModelsRoot() ([32]byte, error) {
	return _ShareAnchor.Contract.ModelsRoot(&_ShareAnchor.CallOpts)
}

// Node is a free data retrieval call binding the contract method 0xd5b2b25a.
//
// Solidity: function node(bytes32 a, bytes32 b) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorCaller) Node(opts *bind.CallOpts, a [32]byte, b [32]byte) ([32]byte, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "node", a, b)

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// Node is a free data retrieval call binding the contract method 0xd5b2b25a.
//
// Solidity: function node(bytes32 a, bytes32 b) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorSession) Node(a [32]byte, b [32]byte) ([32]byte, error) {
	return _ShareAnchor.Contract.Node(&_ShareAnchor.CallOpts, a, b)
}

// Node is a free data retrieval call binding the contract method 0xd5b2b25a.
//
// Solidity: function node(bytes32 a, bytes32 b) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorCallerSession) Node(a [32]byte, b [32]byte) ([32]byte, error) {
	return _ShareAnchor.Contract.Node(&_ShareAnchor.CallOpts, a, b)
}

// Powers is a free data retrieval call binding the contract method 0x40c1bfab.
//
// Solidity: function powers(uint256 ) view returns(uint64)
func (_ShareAnchor *ShareAnchorCaller) Powers(opts *bind.CallOpts, arg0 *big.Int) (uint64, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "powers", arg0)

	if err != nil {
		return *new(uint64), err
	}

	out0 := *abi.ConvertType(out[0], new(uint64)).(*uint64)

	return out0, err

}

// Powers is a free data retrieval call binding the contract method 0x40c1bfab.
//
// Solidity: function powers(uint256 ) view returns(uint64)
func (_ShareAnchor *ShareAnchorSession) Powers(arg0 *big.Int) (uint64, error) {
	return _ShareAnchor.Contract.Powers(&_ShareAnchor.CallOpts, arg0)
}

// Powers is a free data retrieval call binding the contract method 0x40c1bfab.
//
// Solidity: function powers(uint256 ) view returns(uint64)
func (_ShareAnchor *ShareAnchorCallerSession) Powers(arg0 *big.Int) (uint64, error) {
	return _ShareAnchor.Contract.Powers(&_ShareAnchor.CallOpts, arg0)
}

// Signers is a free data retrieval call binding the contract method 0x2079fb9a.
//
// Solidity: function signers(uint256 ) view returns(address)
func (_ShareAnchor *ShareAnchorCaller) Signers(opts *bind.CallOpts, arg0 *big.Int) (common.Address, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "signers", arg0)

	if err != nil {
		return *new(common.Address), err
	}

	out0 := *abi.ConvertType(out[0], new(common.Address)).(*common.Address)

	return out0, err

}

// Signers is a free data retrieval call binding the contract method 0x2079fb9a.
//
// Solidity: function signers(uint256 ) view returns(address)
func (_ShareAnchor *ShareAnchorSession) Signers(arg0 *big.Int) (common.Address, error) {
	return _ShareAnchor.Contract.Signers(&_ShareAnchor.CallOpts, arg0)
}

// Signers is a free data retrieval call binding the contract method 0x2079fb9a.
//
// Solidity: function signers(uint256 ) view returns(address)
func (_ShareAnchor *ShareAnchorCallerSession) Signers(arg0 *big.Int) (common.Address, error) {
	return _ShareAnchor.Contract.Signers(&_ShareAnchor.CallOpts, arg0)
}

// TotalPower is a free data retrieval call binding the contract method 0xdb3ad22c.
//
// Solidity: function totalPower() view returns(uint256)
func (_ShareAnchor *ShareAnchorCaller) TotalPower(opts *bind.CallOpts) (*big.Int, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "totalPower")

	if err != nil {
		return *new(*big.Int), err
	}

	out0 := *abi.ConvertType(out[0], new(*big.Int)).(**big.Int)

	return out0, err

}

// TotalPower is a free data retrieval call binding the contract method 0xdb3ad22c.
//
// Solidity: function totalPower() view returns(uint256)
func (_ShareAnchor *ShareAnchorSession) TotalPower() (*big.Int, error) {
	return _ShareAnchor.Contract.TotalPower(&_ShareAnchor.CallOpts)
}

// TotalPower is a free data retrieval call binding the contract method 0xdb3ad22c.
//
// Solidity: function totalPower() view returns(uint256)
func (_ShareAnchor *ShareAnchorCallerSession) TotalPower() (*big.Int, error) {
	return _ShareAnchor.Contract.TotalPower(&_ShareAnchor.CallOpts)
}

// ValsetHash is a free data retrieval call binding the contract method 0x491e5e88.
//
// Solidity: function valsetHash(address[] s, uint64[] p) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorCaller) ValsetHash(opts *bind.CallOpts, s []common.Address, p []uint64) ([32]byte, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "valsetHash", s, p)

	if err != nil {
		return *new([32]byte), err
	}

	out0 := *abi.ConvertType(out[0], new([32]byte)).(*[32]byte)

	return out0, err

}

// ValsetHash is a free data retrieval call binding the contract method 0x491e5e88.
//
// Solidity: function valsetHash(address[] s, uint64[] p) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorSession) ValsetHash(s []common.Address, p []uint64) ([32]byte, error) {
	return _ShareAnchor.Contract.ValsetHash(&_ShareAnchor.CallOpts, s, p)
}

// ValsetHash is a free data retrieval call binding the contract method 0x491e5e88.
//
// Solidity: function valsetHash(address[] s, uint64[] p) pure returns(bytes32)
func (_ShareAnchor *ShareAnchorCallerSession) ValsetHash(s []common.Address, p []uint64) ([32]byte, error) {
	return _ShareAnchor.Contract.ValsetHash(&_ShareAnchor.CallOpts, s, p)
}

// VerifyShares is a free data retrieval call binding the contract method 0x1b936a81.
//
// Solidity: function verifyShares(uint64 modelId, bytes holder, uint256 balance, bytes32[] holderProof, bytes32 modelRoot, bytes32[] modelProof) view returns(bool)
func (_ShareAnchor *ShareAnchorCaller) VerifyShares(opts *bind.CallOpts, modelId uint64, holder []byte, balance *big.Int, holderProof [][32]byte, modelRoot [32]byte, modelProof [][32]byte) (bool, error) {
	var out []interface{}
	err := _ShareAnchor.contract.Call(opts, &out, "verifyShares", modelId, holder, balance, holderProof, modelRoot, modelProof)

	if err != nil {
		return *new(bool), err
	}

	out0 := *abi.ConvertType(out[0], new(bool)).(*bool)

	return out0, err

}

// VerifyShares is a free data retrieval call binding the contract method 0x1b936a81.
//
// Solidity: function verifyShares(uint64 modelId, bytes holder, uint256 balance, bytes32[] holderProof, bytes32 modelRoot, bytes32[] modelProof) view returns(bool)
func (_ShareAnchor *ShareAnchorSession) VerifyShares(modelId uint64, holder []byte, balance *big.Int, holderProof [][32]byte, modelRoot [32]byte, modelProof [][32]byte) (bool, error) {
	return _ShareAnchor.Contract.VerifyShares(&_ShareAnchor.CallOpts, modelId, holder, balance, holderProof, modelRoot, modelProof)
}

// VerifyShares is a free data retrieval call binding the contract method 0x1b936a81.
//
// Solidity: function verifyShares(uint64 modelId, bytes holder, uint256 balance, bytes32[] holderProof, bytes32 modelRoot, bytes32[] modelProof) view returns(bool)
func (_ShareAnchor *ShareAnchorCallerSession) VerifyShares(modelId uint64, holder []byte, balance *big.Int, holderProof [][32]byte, modelRoot [32]byte, modelProof [][32]byte) (bool, error) {
	return _ShareAnchor.Contract.VerifyShares(&_ShareAnchor.CallOpts, modelId, holder, balance, holderProof, modelRoot, modelProof)
}

// SubmitCheckpoint is a paid mutator transaction binding the contract method 0x770c7a3d.
//
// Solidity: function submitCheckpoint(uint64 height, bytes32 root, address[] nextSigners, uint64[] nextPowers, (uint256,uint8,bytes32,bytes32)[] sigs) returns()
func (_ShareAnchor *ShareAnchorTransactor) SubmitCheckpoint(opts *bind.TransactOpts, height uint64, root [32]byte, nextSigners []common.Address, nextPowers []uint64, sigs []ShareAnchorSig) (*types.Transaction, error) {
	return _ShareAnchor.contract.Transact(opts, "submitCheckpoint", height, root, nextSigners, nextPowers, sigs)
}

// SubmitCheckpoint is a paid mutator transaction binding the contract method 0x770c7a3d.
//
// Solidity: function submitCheckpoint(uint64 height, bytes32 root, address[] nextSigners, uint64[] nextPowers, (uint256,uint8,bytes32,bytes32)[] sigs) returns()
func (_ShareAnchor *ShareAnchorSession) SubmitCheckpoint(height uint64, root [32]byte, nextSigners []common.Address, nextPowers []uint64, sigs []ShareAnchorSig) (*types.Transaction, error) {
	return _ShareAnchor.Contract.SubmitCheckpoint(&_ShareAnchor.TransactOpts, height, root, nextSigners, nextPowers, sigs)
}

// SubmitCheckpoint is a paid mutator transaction binding the contract method 0x770c7a3d.
//
// Solidity: function submitCheckpoint(uint64 height, bytes32 root, address[] nextSigners, uint64[] nextPowers, (uint256,uint8,bytes32,bytes32)[] sigs) returns()
func (_ShareAnchor *ShareAnchorTransactorSession) SubmitCheckpoint(height uint64, root [32]byte, nextSigners []common.Address, nextPowers []uint64, sigs []ShareAnchorSig) (*types.Transaction, error) {
	return _ShareAnchor.Contract.SubmitCheckpoint(&_ShareAnchor.TransactOpts, height, root, nextSigners, nextPowers, sigs)
}

// ShareAnchorCheckpointSubmittedIterator is returned from FilterCheckpointSubmitted and is used to iterate over the raw logs and unpacked data for CheckpointSubmitted events raised by the ShareAnchor contract.
type ShareAnchorCheckpointSubmittedIterator struct {
	Event *ShareAnchorCheckpointSubmitted // Event containing the contract specifics and raw log

	contract *bind.BoundContract // Generic contract to use for unpacking event data
	event    string              // Event name to use for unpacking event data

	logs chan types.Log        // Log channel receiving the found contract events
	sub  ethereum.Subscription // Subscription for errors, completion and termination
	done bool                  // Whether the subscription completed delivering logs
	fail error                 // Occurred error to stop iteration
}

// Next advances the iterator to the subsequent event, returning whether there
// are any more events found. In case of a retrieval or parsing error, false is
// returned and Error() can be queried for the exact failure.
func (it *ShareAnchorCheckpointSubmittedIterator) Next() bool {
	// If the iterator failed, stop iterating
	if it.fail != nil {
		return false
	}
	// If the iterator completed, deliver directly whatever's available
	if it.done {
		select {
		case log := <-it.logs:
			it.Event = new(ShareAnchorCheckpointSubmitted)
			if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
				it.fail = err
				return false
			}
			it.Event.Raw = log
			return true

		default:
			return false
		}
	}
	// Iterator still in progress, wait for either a data or an error event
	select {
	case log := <-it.logs:
		it.Event = new(ShareAnchorCheckpointSubmitted)
		if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
			it.fail = err
			return false
		}
		it.Event.Raw = log
		return true

	case err := <-it.sub.Err():
		it.done = true
		it.fail = err
		return it.Next()
	}
}

// Error returns any retrieval or parsing error occurred during filtering.
func (it *ShareAnchorCheckpointSubmittedIterator) Error() error {
	return it.fail
}

// Close terminates the iteration process, releasing any pending underlying
// resources.
func (it *ShareAnchorCheckpointSubmittedIterator) Close() error {
	it.sub.Unsubscribe()
	return nil
}

// ShareAnchorCheckpointSubmitted represents a CheckpointSubmitted event raised by the ShareAnchor contract.
type ShareAnchorCheckpointSubmitted struct {
	Height     uint64
	ModelsRoot [32]byte
	Valset     [32]byte
	Raw        types.Log // Blockchain specific contextual infos
}

// FilterCheckpointSubmitted is a free log retrieval operation binding the contract event 0xf5a5393c05c9c1046056de3222a96a0f9dcea3ee9f46b189d1f5a6f6df07dd28.
//
// Solidity: event CheckpointSubmitted(uint64 indexed height, bytes32 modelsRoot, bytes32 valset)
func (_ShareAnchor *ShareAnchorFilterer) FilterCheckpointSubmitted(opts *bind.FilterOpts, height []uint64) (*ShareAnchorCheckpointSubmittedIterator, error) {

	var heightRule []interface{}
	for _, heightItem := range height {
		heightRule = append(heightRule, heightItem)
	}

	logs, sub, err := _ShareAnchor.contract.FilterLogs(opts, "CheckpointSubmitted", heightRule)
	if err != nil {
		return nil, err
	}
	return &ShareAnchorCheckpointSubmittedIterator{contract: _ShareAnchor.contract, event: "CheckpointSubmitted", logs: logs, sub: sub}, nil
}

// WatchCheckpointSubmitted is a free log subscription operation binding the contract event 0xf5a5393c05c9c1046056de3222a96a0f9dcea3ee9f46b189d1f5a6f6df07dd28.
//
// Solidity: event CheckpointSubmitted(uint64 indexed height, bytes32 modelsRoot, bytes32 valset)
func (_ShareAnchor *ShareAnchorFilterer) WatchCheckpointSubmitted(opts *bind.WatchOpts, sink chan<- *ShareAnchorCheckpointSubmitted, height []uint64) (event.Subscription, error) {

	var heightRule []interface{}
	for _, heightItem := range height {
		heightRule = append(heightRule, heightItem)
	}

	logs, sub, err := _ShareAnchor.contract.WatchLogs(opts, "CheckpointSubmitted", heightRule)
	if err != nil {
		return nil, err
	}
	return event.NewSubscription(func(quit <-chan struct{}) error {
		defer sub.Unsubscribe()
		for {
			select {
			case log := <-logs:
				// New log arrived, parse the event and forward to the user
				event := new(ShareAnchorCheckpointSubmitted)
				if err := _ShareAnchor.contract.UnpackLog(event, "CheckpointSubmitted", log); err != nil {
					return err
				}
				event.Raw = log

				select {
				case sink <- event:
				case err := <-sub.Err():
					return err
				case <-quit:
					return nil
				}
			case err := <-sub.Err():
				return err
			case <-quit:
				return nil
			}
		}
	}), nil
}

// ParseCheckpointSubmitted is a log parse operation binding the contract event 0xf5a5393c05c9c1046056de3222a96a0f9dcea3ee9f46b189d1f5a6f6df07dd28.
//
// Solidity: event CheckpointSubmitted(uint64 indexed height, bytes32 modelsRoot, bytes32 valset)
func (_ShareAnchor *ShareAnchorFilterer) ParseCheckpointSubmitted(log types.Log) (*ShareAnchorCheckpointSubmitted, error) {
	event := new(ShareAnchorCheckpointSubmitted)
	if err := _ShareAnchor.contract.UnpackLog(event, "CheckpointSubmitted", log); err != nil {
		return nil, err
	}
	event.Raw = log
	return event, nil
}

// ShareAnchorValsetUpdatedIterator is returned from FilterValsetUpdated and is used to iterate over the raw logs and unpacked data for ValsetUpdated events raised by the ShareAnchor contract.
type ShareAnchorValsetUpdatedIterator struct {
	Event *ShareAnchorValsetUpdated // Event containing the contract specifics and raw log

	contract *bind.BoundContract // Generic contract to use for unpacking event data
	event    string              // Event name to use for unpacking event data

	logs chan types.Log        // Log channel receiving the found contract events
	sub  ethereum.Subscription // Subscription for errors, completion and termination
	done bool                  // Whether the subscription completed delivering logs
	fail error                 // Occurred error to stop iteration
}

// Next advances the iterator to the subsequent event, returning whether there
// are any more events found. In case of a retrieval or parsing error, false is
// returned and Error() can be queried for the exact failure.
func (it *ShareAnchorValsetUpdatedIterator) Next() bool {
	// If the iterator failed, stop iterating
	if it.fail != nil {
		return false
	}
	// If the iterator completed, deliver directly whatever's available
	if it.done {
		select {
		case log := <-it.logs:
			it.Event = new(ShareAnchorValsetUpdated)
			if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
				it.fail = err
				return false
			}
			it.Event.Raw = log
			return true

		default:
			return false
		}
	}
	// Iterator still in progress, wait for either a data or an error event
	select {
	case log := <-it.logs:
		it.Event = new(ShareAnchorValsetUpdated)
		if err := it.contract.UnpackLog(it.Event, it.event, log); err != nil {
			it.fail = err
			return false
		}
		it.Event.Raw = log
		return true

	case err := <-it.sub.Err():
		it.done = true
		it.fail = err
		return it.Next()
	}
}

// Error returns any retrieval or parsing error occurred during filtering.
func (it *ShareAnchorValsetUpdatedIterator) Error() error {
	return it.fail
}

// Close terminates the iteration process, releasing any pending underlying
// resources.
func (it *ShareAnchorValsetUpdatedIterator) Close() error {
	it.sub.Unsubscribe()
	return nil
}

// ShareAnchorValsetUpdated represents a ValsetUpdated event raised by the ShareAnchor contract.
type ShareAnchorValsetUpdated struct {
	Valset     [32]byte
	TotalPower *big.Int
	Size       *big.Int
	Raw        types.Log // Blockchain specific contextual infos
}

// FilterValsetUpdated is a free log retrieval operation binding the contract event 0xb7ca5e46e360950244488bf096bf742a1f63183cf1ee5b3b0c53045b6247bf5b.
//
// Solidity: event ValsetUpdated(bytes32 indexed valset, uint256 totalPower, uint256 size)
func (_ShareAnchor *ShareAnchorFilterer) FilterValsetUpdated(opts *bind.FilterOpts, valset [][32]byte) (*ShareAnchorValsetUpdatedIterator, error) {

	var valsetRule []interface{}
	for _, valsetItem := range valset {
		valsetRule = append(valsetRule, valsetItem)
	}

	logs, sub, err := _ShareAnchor.contract.FilterLogs(opts, "ValsetUpdated", valsetRule)
	if err != nil {
		return nil, err
	}
	return &ShareAnchorValsetUpdatedIterator{contract: _ShareAnchor.contract, event: "ValsetUpdated", logs: logs, sub: sub}, nil
}

// WatchValsetUpdated is a free log subscription operation binding the contract event 0xb7ca5e46e360950244488bf096bf742a1f63183cf1ee5b3b0c53045b6247bf5b.
//
// Solidity: event ValsetUpdated(bytes32 indexed valset, uint256 totalPower, uint256 size)
func (_ShareAnchor *ShareAnchorFilterer) WatchValsetUpdated(opts *bind.WatchOpts, sink chan<- *ShareAnchorValsetUpdated, valset [][32]byte) (event.Subscription, error) {

	var valsetRule []interface{}
	for _, valsetItem := range valset {
		valsetRule = append(valsetRule, valsetItem)
	}

	logs, sub, err := _ShareAnchor.contract.WatchLogs(opts, "ValsetUpdated", valsetRule)
	if err != nil {
		return nil, err
	}
	return event.NewSubscription(func(quit <-chan struct{}) error {
		defer sub.Unsubscribe()
		for {
			select {
			case log := <-logs:
				// New log arrived, parse the event and forward to the user
				event := new(ShareAnchorValsetUpdated)
				if err := _ShareAnchor.contract.UnpackLog(event, "ValsetUpdated", log); err != nil {
					return err
				}
				event.Raw = log

				select {
				case sink <- event:
				case err := <-sub.Err():
					return err
				case <-quit:
					return nil
				}
			case err := <-sub.Err():
				return err
			case <-quit:
				return nil
			}
		}
	}), nil
}

// ParseValsetUpdated is a log parse operation binding the contract event 0xb7ca5e46e360950244488bf096bf742a1f63183cf1ee5b3b0c53045b6247bf5b.
//
// Solidity: event ValsetUpdated(bytes32 indexed valset, uint256 totalPower, uint256 size)
func (_ShareAnchor *ShareAnchorFilterer) ParseValsetUpdated(log types.Log) (*ShareAnchorValsetUpdated, error) {
	event := new(ShareAnchorValsetUpdated)
	if err := _ShareAnchor.contract.UnpackLog(event, "ValsetUpdated", log); err != nil {
		return nil, err
	}
	event.Raw = log
	return event, nil
}
