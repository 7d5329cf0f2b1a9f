// Calls examples/trfc_client through classes wsimport generated from its served WSDL (JAX-WS, wrapper
// style, -XadditionalHeaders for the MessageId header). Usage:
//   java TrfcClientServiceClient WSDL OPERATION MESSAGE_ID ARGUMENT
// TestSimpleTypes takes the request text (prints "echo|response"); SendTXTRAW and SendAnyIDoc take the
// sender partner and one text line ("PARTNER:line") and print "transactionId tid state". A SOAP fault
// prints "FAULT code reason" and exits with status 3.

import java.net.URL;
import java.util.List;
import javax.xml.ws.Holder;
import javax.xml.ws.soap.SOAPFaultException;
import trfcclientexample.saptrfcclientservice.EDIDC40;
import trfcclientexample.saptrfcclientservice.EDIDD40;
import trfcclientexample.saptrfcclientservice.IDocInterface;
import trfcclientexample.saptrfcclientservice.IDocReceipt;
import trfcclientexample.saptrfcclientservice.SaptRFCClientService;

public class TrfcClientServiceClient {
    public static void main(String[] args) throws Exception {
        IDocInterface port = new SaptRFCClientService(new URL(args[0])).getIDocInterfaceSoap11();
        String operation = args[1], messageId = args[2], argument = args[3];
        String[] parts = argument.split(":", 2);
        Holder<String> transactionId = new Holder<>(), tid = new Holder<>(), state = new Holder<>();
        Holder<Long> position = new Holder<>();
        Holder<List<IDocReceipt>> idocs = new Holder<>();
        try {
            switch (operation) {
                case "TestSimpleTypes":
                    Holder<String> echo = new Holder<>(), response = new Holder<>();
                    port.testSimpleTypes(argument, echo, response);
                    System.out.println(echo.value + "|" + response.value);
                    return;
                case "SendTXTRAW":
                    port.sendTXTRAW("LEGACY", parts[0], "SAPSIM", "SIM100", List.of(parts[1]), transactionId, tid,
                            state, position, idocs, messageId);
                    break;
                case "SendAnyIDoc":
                    EDIDC40 control = new EDIDC40();
                    control.setTABNAM("EDI_DC40");
                    control.setDIRECT("2");
                    control.setIDOCTYP("TXTRAW01");
                    control.setMESTYP("TXTRAW");
                    control.setSNDPRT("LS");
                    control.setSNDPRN(parts[0]);
                    control.setRCVPRT("LS");
                    control.setRCVPRN("SIM100");
                    EDIDD40 record = new EDIDD40();
                    record.setSEGNAM("E1TXTRW");
                    record.setSDATA(parts[1]);
                    port.sendAnyIDoc(control, List.of(record), transactionId, tid, state, position, idocs, messageId);
                    break;
                default:
                    throw new IllegalArgumentException("no operation " + operation);
            }
        } catch (SOAPFaultException fault) {
            System.out.println("FAULT " + fault.getFault().getFaultCodeAsQName().getLocalPart() + " "
                    + fault.getFault().getFaultString());
            System.exit(3);
        }
        System.out.println(transactionId.value + " " + tid.value + " " + state.value);
    }
}
